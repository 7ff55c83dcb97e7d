import type { Command } from './command.ts';
import { nodeVersionProblem } from './node-version.ts';

// Subcommands load lazily: `pullwatch classify` must not pay for Kafka or Kubernetes clients.
const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  start: {
    summary:
      'start [--no-simulate] [--kubeconfig PATH --context NAME…] [--topology cluster] [--dev]: engines, services (the built bundle; --dev: from source), simulator and dashboard',
    load: async () => (await import('./commands/start.ts')).default,
  },
  engines: {
    summary: 'engines up|down|status|reset [--json]: the local Kafka and ClickHouse (reset: stop, delete their data)',
    load: async () => (await import('./commands/engines.ts')).default,
  },
  migrate: {
    summary: 'migrate: apply the ClickHouse migrations (idempotent)',
    load: async () => (await import('./commands/migrate.ts')).default,
  },
  classify: {
    summary: 'classify [--text]: JSON Lines of pull failure messages on stdin → causes on stdout',
    load: async () => (await import('./commands/classify.ts')).default,
  },
  replay: {
    summary: 'replay --cluster NAME --file PATH [--endpoint URL]: send recorded events to a collector',
    load: async () => (await import('./commands/replay.ts')).default,
  },
  simulate: {
    summary: 'simulate --scenario FILE [--endpoint URL]: run a fleet scenario against a collector',
    load: async () => (await import('./commands/simulate.ts')).default,
  },
  collector: {
    summary: 'collector: run the collector service alone',
    load: async () => (await import('./commands/collector.ts')).default,
  },
  analyzer: {
    summary: 'analyzer: run the analyzer service alone',
    load: async () => (await import('./commands/analyzer.ts')).default,
  },
  'query-api': {
    summary: 'query-api: run the query API (and dashboard) alone',
    load: async () => (await import('./commands/query-api.ts')).default,
  },
  bench: {
    summary: 'bench [--events N --clusters N --rows N]: benchmarks → bench/results/',
    load: async () => (await import('./commands/bench.ts')).default,
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: pullwatch <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const tooOld = nodeVersionProblem(process.version);
  if (tooOld) {
    process.stderr.write(`pullwatch: ${tooOld}\n`);
    return 1;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`pullwatch: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    const command = await entry.load();
    return await command(rest);
  } catch (err) {
    process.stderr.write(`pullwatch ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
