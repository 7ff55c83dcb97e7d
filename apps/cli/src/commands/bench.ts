import { parseArgs } from 'node:util';
import { LocalEngines, loadEnginesConfig } from '@pullwatch/engines';
import type { Command } from '../command.ts';

const positiveInt = (name: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number, got '${v}'`);
  return n;
};

const bench: Command = async (args) => {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string' },
      clusters: { type: 'string' },
      rows: { type: 'string' },
      only: { type: 'string', multiple: true },
    },
  });
  // The benches measure the real engines: bring the local ones up (or reuse them) first.
  const cfg = loadEnginesConfig();
  if (cfg.mode === 'local') await new LocalEngines(cfg).up((l) => process.stderr.write(`${l}\n`));
  // The bench suites live at the repository root (bench/), beside their results.
  const { runBenchmarks } = await import('@pullwatch/bench');
  const scale = {
    events: positiveInt('events', values.events, 200_000),
    clusters: positiveInt('clusters', values.clusters, 200),
    rows: positiveInt('rows', values.rows, 10_000_000),
  };
  const { jsonPath, markdownPath } = await runBenchmarks({
    scale,
    ...(values.only ? { only: values.only } : {}),
    log: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(`results: ${jsonPath}\n         ${markdownPath}\n`);
  return 0;
};

export default bench;
