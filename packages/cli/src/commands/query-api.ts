import type { Command } from '../command.ts';

const notYet: Command = async () => {
  process.stderr.write('pullwatch query-api: not available yet (issue 6)\n');
  return 1;
};

export default notYet;
