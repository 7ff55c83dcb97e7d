import type { Command } from '../command.ts';

const notYet: Command = async () => {
  process.stderr.write('pullwatch simulate: not available yet (issue 7)\n');
  return 1;
};

export default notYet;
