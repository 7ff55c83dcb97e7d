import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTeams } from './file.ts';

const file = (text: string) => {
  const p = join(mkdtempSync(join(tmpdir(), 'teams-')), 'teams.yaml');
  writeFileSync(p, text);
  return p;
};

describe('team mapping', () => {
  it('maps namespaces, a cluster entry winning; unknown is null', () => {
    const t = loadTeams(file('namespaces:\n  shop: web\nclusters:\n  eu:\n    shop: eu-web\n    db: data\n'));
    expect(t.of('us', 'shop')).toBe('web');
    expect(t.of('eu', 'shop')).toBe('eu-web');
    expect(t.of('eu', 'db')).toBe('data');
    expect(t.of('us', 'db')).toBeNull();
    expect(loadTeams(undefined).of('us', 'shop')).toBeNull();
    expect(loadTeams(file('')).of('us', 'shop')).toBeNull();
  });
  it('rejects files it cannot use, naming the file and the field', () => {
    const bad = file('namespaces:\n  shop: 3\n');
    expect(() => loadTeams(bad)).toThrow(
      `team mapping ${bad}: namespaces.shop: Invalid input: expected string, received number`,
    );
    expect(() => loadTeams(file('teams: {}\n'))).toThrow(/Unrecognized key/);
    expect(() => loadTeams('/nonexistent/teams.yaml')).toThrow(/cannot read/);
  });
});
