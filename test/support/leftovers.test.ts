import { describe, expect, it } from 'vitest';
import { runNamePattern } from './leftovers.ts';

describe('runNamePattern', () => {
  it("matches the run's names and the names made from them, nothing else", () => {
    const mine = runNamePattern('ab12');
    for (const name of ['pipeline_ab12deadbeef', 'x_ab120123abcd_dlq', 'built_cli_ab12ffffffff_g'])
      expect(mine.test(name), name).toBe(true);
    for (const name of [
      'pipeline_ab13deadbeef', // another run
      'pipeline_ab12deadbee', // too short to be one of ours
      'pipeline_ab12deadbeef9', // too long
      'pullwatch.events',
      'pullwatch',
      'fd_bench_10m',
    ])
      expect(mine.test(name), name).toBe(false);
  });
});
