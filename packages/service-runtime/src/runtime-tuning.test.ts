import { describe, expect, it } from 'vitest';
import { serviceEnv, serviceNodeFlags } from './runtime-tuning.ts';

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

describe('serviceEnv', () => {
  it("fixes glibc's mmap threshold for the analyzer, unless its environment sets one", () => {
    expect(serviceEnv('analyzer', { A: '1' })).toEqual({ MALLOC_MMAP_THRESHOLD_: '65536', A: '1' });
    expect(serviceEnv('analyzer', { MALLOC_MMAP_THRESHOLD_: '131072' })).toEqual({ MALLOC_MMAP_THRESHOLD_: '131072' });
    expect(serviceEnv('collector', { A: '1' })).toEqual({ A: '1' });
  });
});
