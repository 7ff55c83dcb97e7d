import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import { repoRoot } from '@pullwatch/engines';
import { ensureBundle } from '../start/bundle.ts';
import { runStack } from '../start/run-stack.ts';
import { stopSignal, stopWithin } from '../stop-signal.ts';

const start: Command = async (args) => {
  const { values } = parseArgs({
    args,
    options: {
      'no-simulate': { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      context: { type: 'string', multiple: true },
      scenario: { type: 'string' },
      'all-events': { type: 'boolean', default: false },
      topology: { type: 'string' },
      dev: { type: 'boolean', default: false },
    },
  });
  if (values.topology !== undefined && values.topology !== 'single' && values.topology !== 'cluster')
    throw new Error(`--topology single|cluster, got '${values.topology}'`);
  if (values.context?.length && !values.kubeconfig) throw new Error('--context needs --kubeconfig PATH');
  // The services run what production runs, the built bundle (unless --dev: from source through tsx); a
  // command already running from the bundle (the image, `node dist/pullwatch.mjs`) hands them itself.
  const self = process.argv[1];
  const fromBundle = Boolean(self?.endsWith('.mjs'));
  const cliEntry =
    values.dev || fromBundle
      ? self
      : await ensureBundle({ root: repoRoot, progress: (line) => process.stderr.write(`  ${line}\n`) });
  const stack = await runStack({
    simulate: !values['no-simulate'] && !values.kubeconfig,
    kubeconfig: values.kubeconfig ?? null,
    contexts: values.context ?? [],
    scenario: values.scenario ?? null,
    allEvents: values['all-events'],
    ...(values.topology ? { topology: values.topology } : {}),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    ...(cliEntry ? { cliEntry } : {}),
  });
  await stopSignal();
  process.stdout.write('\nstopping: simulator, ingest, analyzer (last batch committed), API, engines…\n');
  await stopWithin('the pipeline', () => stack.stop());
  process.stdout.write('stopped.\n');
  return 0;
};

export default start;
