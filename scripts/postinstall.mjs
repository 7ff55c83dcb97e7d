// Builds the small C launcher that serves the embedded ClickHouse engine (libchdb.so) over HTTP.
// It never fails the install: a machine without gcc or without the engine package can still use
// PULLWATCH_ENGINES=external or containers; `pullwatch engines up` explains what is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
const entry = new URL('../packages/engines/scripts/build-launcher.mjs', import.meta.url);
if (existsSync(entry)) {
  const r = spawnSync(process.execPath, [entry.pathname], { stdio: 'inherit' });
  if (r.status !== 0) console.warn('[pullwatch] ClickHouse launcher not built; see the message above.');
}
