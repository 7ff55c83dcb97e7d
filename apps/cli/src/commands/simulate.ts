import { parseArgs } from 'node:util';
import { createSimulator, defaultScenarioPath, loadScenario } from '@pullwatch/simulator';
import type { Command } from '../command.ts';
import { stopSignal } from '../stop-signal.ts';
import { clientIngestToken } from '../start/api-token.ts';

const simulate: Command = async (args) => {
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: 'string' },
      endpoint: { type: 'string', default: 'http://127.0.0.1:4318' },
      seed: { type: 'string' },
      backfill: { type: 'string' },
      duration: { type: 'string' },
      token: { type: 'string' },
    },
  });
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${v}'`);
    return n;
  };
  const scenario = loadScenario(values.scenario ?? defaultScenarioPath);
  const seed = num('seed', values.seed);
  const backfillMinutes = num('backfill', values.backfill);
  const duration = num('duration', values.duration);
  const sim = createSimulator({
    scenario,
    endpoint: values.endpoint,
    token: clientIngestToken(values.token, process.env),
    ...(seed !== undefined ? { seed } : {}),
    ...(backfillMinutes !== undefined ? { backfillMinutes } : {}),
  });
  process.stderr.write(
    `simulating '${scenario.name}' (${scenario.clusters.length} clusters, ` +
      `${scenario.incidents.length} incidents) against ${values.endpoint}\n`,
  );
  await sim.start();
  process.stderr.write(`history sent: ${sim.stats().sent} events\n`);
  let last = sim.stats().sent;
  const progress = setInterval(() => {
    const s = sim.stats();
    process.stderr.write(
      `sent ${s.sent} events (${((s.sent - last) / 10).toFixed(1)}/s)${s.errors ? `, ${s.errors} failed sends` : ''}\n`,
    );
    last = s.sent;
  }, 10_000);
  await stopSignal(duration === undefined ? undefined : duration * 1000);
  clearInterval(progress);
  await sim.stop();
  const s = sim.stats();
  process.stdout.write(`sent ${s.sent} events, accepted ${s.accepted}\n`);
  return s.errors > 0 && s.accepted === 0 ? 1 : 0;
};

export default simulate;
