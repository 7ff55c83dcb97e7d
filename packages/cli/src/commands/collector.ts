import type { Command } from '../command.ts';

const notYet: Command = async () => {
  process.stderr.write('pullwatch collector: not available yet (issue 4)\n');
  return 1;
};

export default notYet;
