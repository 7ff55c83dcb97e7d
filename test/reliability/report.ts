import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@pullwatch/engines';

/** Each reliability test's figures, printed and gathered in test-output/reliability.json. */
export function report(name: string, figures: Record<string, number | string>): void {
  const dir = join(repoRoot, 'test-output');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'reliability.json');
  const all = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  all[name] = { ...figures, at: new Date().toISOString() };
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
  process.stdout.write(
    `reliability: ${name}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}\n`,
  );
}
