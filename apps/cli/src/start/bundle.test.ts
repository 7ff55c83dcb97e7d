import { describe, expect, it } from 'vitest';
import { staleReason } from './bundle.ts';

describe('staleReason', () => {
  const inputs = [
    { path: 'apps/cli/src/main.ts', mtimeMs: 1_000 },
    { path: 'services/collector/src/server.ts', mtimeMs: 2_000 },
  ];

  it('keeps a bundle built after every file it was built from', () => {
    expect(staleReason(2_000, inputs)).toBeNull();
    expect(staleReason(5_000, inputs)).toBeNull();
  });

  it('rebuilds when the bundle is missing, lists nothing, or a source changed or went away', () => {
    expect(staleReason(null, inputs)).toBe('no bundle yet');
    expect(staleReason(5_000, [])).toBe('the bundle lists no inputs');
    expect(staleReason(1_500, inputs)).toBe('services/collector/src/server.ts changed');
    expect(staleReason(5_000, [...inputs, { path: 'packages/x/src/gone.ts', mtimeMs: null }])).toBe(
      'packages/x/src/gone.ts is gone',
    );
  });
});
