import { parseArgs } from 'node:util';
import { runClassifyStream } from '@pullwatch/classifier';
import type { Command } from '../command.ts';

const USAGE = `usage: pullwatch classify [--text]

Reads image pull failure messages on stdin and writes one JSON line per input line:
{cause, subcause, image, reference, registry, provider, retryable, hint}.

  (default)  JSON Lines: {"message": "...", "reason": "Failed"}; a bad line yields {"error": "..."}
  --text     one plain message per line
Blank lines are skipped. Exit status 0 when every line was valid, 2 otherwise.
`;

const classifyCommand: Command = async (args) => {
  let values: { text?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { text: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`pullwatch classify: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const result = await runClassifyStream(process.stdin, process.stdout, { text: values.text === true });
  return result.exitCode;
};

export default classifyCommand;
