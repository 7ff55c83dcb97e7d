import type { Logger } from '@pullwatch/telemetry';
import { FleetSimulation } from './fleet.ts';
import type { Scenario } from './scenario.ts';
import { sendEvents } from './sender.ts';

export interface SimulatorOptions {
  scenario: Scenario;
  /** The collector's ingest base URL, e.g. http://127.0.0.1:4318. */
  endpoint: string;
  /** The collector's ingest token (sent as `Authorization: Bearer`). */
  token?: string;
  seed?: number;
  /** Overrides the scenario's backfill (minutes). */
  backfillMinutes?: number;
  /** Seconds between live sends. */
  tickSeconds?: number;
  logger?: Logger;
  now?: () => number;
}

export interface SimulatorStats {
  sent: number;
  accepted: number;
  byCluster: Record<string, number>;
  errors: number;
}

/**
 * Runs a scenario against a collector: first the backfilled history (timestamps in the past, sent
 * as fast as the collector takes them), then live, stamped with the current time.
 */
export function createSimulator(opts: SimulatorOptions) {
  const now = opts.now ?? Date.now;
  const scenario =
    opts.backfillMinutes === undefined ? opts.scenario : { ...opts.scenario, backfill: opts.backfillMinutes * 60 };
  const sim = new FleetSimulation(scenario, now(), opts.seed ?? scenario.seed);
  const stats: SimulatorStats = { sent: 0, accepted: 0, byCluster: {}, errors: 0 };
  const abort = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let inflight: Promise<void> = Promise.resolve();

  const send = async (until: number) => {
    const batch = sim.advance(until);
    if (!batch.length) return;
    const r = await sendEvents(opts.endpoint, batch, { signal: abort.signal, token: opts.token });
    stats.sent += batch.length;
    stats.accepted += r.accepted;
    for (const e of batch) stats.byCluster[e.cluster] = (stats.byCluster[e.cluster] ?? 0) + 1;
  };

  return {
    async start(): Promise<void> {
      await send(now());
      opts.logger?.info({ events: stats.sent }, 'simulator: history sent, going live');
      timer = setInterval(
        () => {
          inflight = inflight
            .then(() => send(now()))
            .catch((err: unknown) => {
              stats.errors += 1;
              if (!abort.signal.aborted)
                opts.logger?.warn(
                  { err: err instanceof Error ? err.message : String(err) },
                  'simulator: send failed; will retry with the next tick',
                );
            });
        },
        (opts.tickSeconds ?? 1) * 1000,
      );
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      await inflight;
      abort.abort();
    },
    stats(): SimulatorStats {
      return { ...stats, byCluster: { ...stats.byCluster } };
    },
  };
}

export type Simulator = ReturnType<typeof createSimulator>;
