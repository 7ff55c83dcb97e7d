import type { Command } from '../command.ts';

const notYet: Command = async () => {
  process.stderr.write('pullwatch analyzer: not available yet (issue 5)\n');
  return 1;
};

export default notYet;
