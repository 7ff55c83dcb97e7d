// Builds infra/clickhouse/chdb-launcher.c into .pullwatch/bin/chdb-launcher (run by `npm install`).
// Plain JS so it runs before anything else is installed; exits non-zero with a clear reason.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const source = join(root, 'infra/clickhouse/chdb-launcher.c');
const home = process.env.PULLWATCH_HOME ? resolve(process.env.PULLWATCH_HOME) : join(root, '.pullwatch');
const target = join(home, 'bin/chdb-launcher');

if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) process.exit(0);
mkdirSync(dirname(target), { recursive: true });
const cc = process.env.CC ?? 'gcc';
const r = spawnSync(cc, ['-O2', '-Wall', '-o', target, source, '-ldl'], { stdio: 'inherit' });
if (r.error || r.status !== 0) {
  console.error(
    `[pullwatch] could not build the ClickHouse launcher with ` +
      `'${cc}': ${r.error?.message ?? `exit ${r.status}`}. Install gcc (apt-get install gcc) and run 'npm ` +
      `rebuild' or 'pullwatch engines up'.`,
  );
  process.exit(1);
}
console.log(`[pullwatch] built ${target}`);
