import type { Logger } from '@pullwatch/telemetry';
import type { AnalyzerConfig } from '../config.ts';
import type { AnalyzerStore } from '../store.ts';

/** Incident correlation, every `intervalMs` and on demand, one run at a time. */
export class IncidentCorrelation {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: AnalyzerStore,
    private readonly cfg: AnalyzerConfig['incidents'],
    private readonly log: Logger,
  ) {}

  private async correlate(): Promise<void> {
    // Carries incidents that began before the look-back, so a long one keeps its id.
    await this.store.correlate(this.cfg, Date.now());
  }

  /** Correlates every interval; a failed run is logged, and the next one tries again. */
  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running
        .then(() => this.correlate())
        .catch((err: unknown) =>
          this.log.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'analyzer: incident correlation failed; will retry',
          ),
        );
    }, this.cfg.intervalMs);
  }

  /** One run now, after the one in progress. */
  now(): Promise<void> {
    this.running = this.running.then(() => this.correlate());
    return this.running;
  }

  /** No more runs; waits for the one in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running.catch(() => undefined);
  }
}
