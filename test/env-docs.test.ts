import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every `PULLWATCH_*` setting the code reads is documented, and every documented one is read somewhere
 * (product code, a shipped config that reads the environment, a test or the bench), so the docs and the
 * code cannot drift apart silently.
 */
const root = join(import.meta.dirname, '..');
const NAME = /PULLWATCH_[A-Z0-9_]+/g;

function files(dir: string, keep: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...files(path, keep));
    else if (keep(path)) out.push(path);
  }
  return out;
}

function names(paths: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const p of paths)
    for (const m of readFileSync(p, 'utf8').matchAll(NAME)) if (!found.has(m[0])) found.set(m[0], relative(root, p));
  return found;
}

const isTest = (p: string) => /\.(test|int\.test|rel\.test|kube\.test|otelcol\.test)\.ts$/.test(p);
const productCode = names([
  ...['apps', 'packages', 'services'].flatMap((d) =>
    files(join(root, d), (p) => /\/(src|scripts|bin)\//.test(p) && /\.(ts|mjs|js)$/.test(p) && !isTest(p)),
  ),
  ...files(join(root, 'scripts'), (p) => /\.(mjs|sh)$/.test(p)),
]);
const docFiles = [
  'README.md',
  ...files(join(root, 'docs'), (p) => p.endsWith('.md')),
  ...['apps', 'packages', 'services', 'infra'].flatMap((d) => files(join(root, d), (p) => p.endsWith('README.md'))),
].map((p) => (p.startsWith('/') ? p : join(root, p)));
const docs = names(docFiles);
const docText = docFiles.map((p) => readFileSync(p, 'utf8')).join('\n');
// Read outside product code: shipped configs that take the environment, tests, the bench, CI.
const elsewhere = names([
  ...files(join(root, 'infra'), (p) => /\.(ya?ml|json|xml|sh)$/.test(p)),
  ...files(join(root, 'test'), (p) => p.endsWith('.ts')),
  ...files(join(root, 'bench'), (p) => p.endsWith('.ts')),
  ...['apps', 'packages', 'services'].flatMap((d) => files(join(root, d), (p) => isTest(p))),
  join(root, '.ci/run'),
  join(root, 'docker-compose.yml'),
]);

/** Documented as a family: `PULLWATCH_X_*` in the docs covers every `PULLWATCH_X_…`. */
const families = [...docText.matchAll(/(PULLWATCH_[A-Z0-9_]*_)\*/g)].map((m) => m[1]!);
/** The query API's class limits, documented as `PULLWATCH_API_<CLASS>_<SETTING>` with a table of SETTINGs. */
const classSetting = /^PULLWATCH_API_(DASHBOARD|REPORT|ALERTS)_([A-Z_]+)$/;

function documented(name: string): boolean {
  if (docs.has(name) || families.some((f) => name.startsWith(f))) return true;
  const m = classSetting.exec(name);
  return Boolean(m && docText.includes('PULLWATCH_API_<CLASS>_<SETTING>') && docText.includes(`\`${m[2]}\``));
}

describe('PULLWATCH_* settings and their docs', () => {
  it('documents every setting the code reads', () => {
    // Prefixes the code composes names from (`PULLWATCH_KAFKA_` + …) are not settings themselves.
    const undocumented = [...productCode]
      .filter(([n]) => !n.endsWith('_') && !documented(n))
      .map(([n, where]) => `${n} (read in ${where})`);
    expect(undocumented).toEqual([]);
  });

  it('reads every setting the docs name', () => {
    const unread = [...docs]
      .filter(([n]) => !n.endsWith('_') && !productCode.has(n) && !elsewhere.has(n))
      .filter(([n]) => !classSetting.test(n))
      .map(([n, where]) => `${n} (documented in ${where})`);
    expect(unread).toEqual([]);
  });
});
