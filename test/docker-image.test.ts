import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// No Docker engine in CI: the image's structure is checked from the Dockerfile itself.
const text = readFileSync(new URL('../infra/docker/Dockerfile', import.meta.url), 'utf8');
// Instructions with their continuation lines joined, comments dropped.
const instructions = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op!.toUpperCase(), args: rest.join(' ') };
  });
const stages: { from: string; body: { op: string; args: string }[] }[] = [];
for (const i of instructions) {
  if (i.op === 'FROM') stages.push({ from: i.args, body: [] });
  else stages.at(-1)?.body.push(i);
}
const runtime = stages.at(-1)!;
const args = (op: string) => runtime.body.filter((i) => i.op === op).map((i) => i.args);

describe('infra/docker/Dockerfile', () => {
  it('builds in one stage and runs on node:24-bookworm-slim in another', () => {
    expect(stages.map((s) => s.from)).toEqual(['node:24-bookworm-slim AS build', 'node:24-bookworm-slim AS runtime']);
    expect(stages[0]!.body.filter((i) => i.op === 'RUN').map((i) => i.args)).toEqual([
      'npm ci --ignore-scripts --no-audit --no-fund && npx patch-package --error-on-fail && npm run build',
    ]);
  });

  it('runs the built bundle under tini as uid 10001, with no tsx, no sources and no health check', () => {
    expect(args('ENTRYPOINT')).toEqual(['["tini", "--", "node", "/app/dist/pullwatch.mjs"]']);
    expect(args('USER')).toEqual(['10001:10001']);
    expect(args('COPY')).toEqual(['--from=build /src/dist /app/dist']);
    expect(args('RUN').join(' ')).toContain('apt-get install -y --no-install-recommends tini');
    expect(args('RUN').join(' ')).toContain('useradd --uid 10001 --gid 10001');
    expect(runtime.body.map((i) => i.op)).not.toContain('HEALTHCHECK');
    expect(runtime.body.map((i) => i.args).join('\n')).not.toMatch(/tsx|\.ts\b|npm/);
    expect(args('ENV').join(' ')).toContain('PULLWATCH_ENGINES=external');
  });

  it('keeps node_modules, local state and build output out of the build context', () => {
    const ignored = readFileSync(new URL('../infra/docker/Dockerfile.dockerignore', import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', 'dist', '.pullwatch', '.git']));
  });
});
