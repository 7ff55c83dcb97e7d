import { describe, expect, it } from 'vitest';
import { serviceNodeFlags } from './node-flags.ts';

describe('serviceNodeFlags', () => {
  it('gives the collector and the analyzer a 4 MiB young generation, and the other services nothing', () => {
    expect(serviceNodeFlags('collector', undefined)).toEqual(['--max-semi-space-size=4']);
    expect(serviceNodeFlags('analyzer', '--enable-source-maps')).toEqual(['--max-semi-space-size=4']);
    expect(serviceNodeFlags('query-api', undefined)).toEqual([]);
  });

  it("adds none when the user's NODE_OPTIONS sizes the heap already", () => {
    for (const own of ['--max-old-space-size=576', '--max-semi-space-size=16', '--max-heap-size=300'])
      expect(serviceNodeFlags('analyzer', `--enable-source-maps ${own}`)).toEqual([]);
  });
});
