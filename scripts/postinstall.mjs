// After `npm install`: applies the patches in patches/ to the installed packages (patch-package), then
// builds the small C launcher that serves the embedded ClickHouse engine (libchdb.so) over HTTP.
// A patch that no longer applies fails the install: the code would otherwise run unpatched.
// The launcher never fails it: a machine without gcc or without the engine package can still use
// PULLWATCH_ENGINES=external or containers; `pullwatch engines up` explains what is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const patchPackage = new URL('../node_modules/patch-package/index.js', import.meta.url);
if (existsSync(patchPackage)) {
  const r = spawnSync(process.execPath, [patchPackage.pathname, '--error-on-fail'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const entry = new URL('../packages/engines/scripts/build-launcher.mjs', import.meta.url);
if (existsSync(entry)) {
  const r = spawnSync(process.execPath, [entry.pathname], { stdio: 'inherit' });
  if (r.status !== 0) console.warn('[pullwatch] ClickHouse launcher not built; see the message above.');
}
