import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
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
    },
  });
  if (values.topology !== undefined && values.topology !== 'single' && values.topology !== 'cluster')
    throw new Error(`--topology single|cluster, got '${values.topology}'`);
  if (values.context?.length && !values.kubeconfig) throw new Error('--context needs --kubeconfig PATH');
  const stack = await runStack({
    simulate: !values['no-simulate'] && !values.kubeconfig,
    kubeconfig: values.kubeconfig ?? null,
    contexts: values.context ?? [],
    scenario: values.scenario ?? null,
    allEvents: values['all-events'],
    ...(values.topology ? { topology: values.topology } : {}),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    // The services run from the same entry script as this command (sources or the built bundle).
    ...(process.argv[1] ? { cliEntry: process.argv[1] } : {}),
  });
  await stopSignal();
  process.stdout.write('\nstopping: simulator, ingest, analyzer (last batch committed), API, engines…\n');
  await stopWithin('the pipeline', () => stack.stop());
  process.stdout.write('stopped.\n');
  return 0;
};

export default start;
