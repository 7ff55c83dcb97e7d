import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * `npm start` runs the services as production does: the `npm run build` bundle (dist/pullwatch.mjs),
 * which holds 40–90 MiB less per service than running the TypeScript through tsx. The bundle is rebuilt
 * when it is missing or any file it was built from (esbuild's metafile lists them) changed since.
 */

export interface BuildInput {
  path: string;
  /** null: the file is gone. */
  mtimeMs: number | null;
}

/** Why the bundle built at `builtMs` from `inputs` must be rebuilt, or null when it is current. */
export function staleReason(builtMs: number | null, inputs: readonly BuildInput[]): string | null {
  if (builtMs === null) return 'no bundle yet';
  if (!inputs.length) return 'the bundle lists no inputs';
  for (const i of inputs) {
    if (i.mtimeMs === null) return `${i.path} is gone`;
    if (i.mtimeMs > builtMs) return `${i.path} changed`;
  }
  return null;
}

function mtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** The first-party files the bundle in `dist` was built from, plus what shapes every build. */
function buildInputs(root: string, dist: string): BuildInput[] {
  const metaFile = join(dist, 'meta.json');
  if (!existsSync(metaFile)) return [];
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { inputs?: Record<string, unknown> };
  const sources = Object.keys(meta.inputs ?? {}).filter((p) => !p.includes('node_modules/') && !p.includes(':'));
  return [...sources, 'package-lock.json', 'scripts/build.mjs'].map((p) => ({
    path: p,
    mtimeMs: mtime(join(root, p)),
  }));
}

export interface EnsureBundleOptions {
  root: string;
  progress: (line: string) => void;
}

/** The bundle's entry, built first when it is missing or stale. */
export async function ensureBundle(opts: EnsureBundleOptions): Promise<string> {
  const dist = join(opts.root, 'dist');
  const entry = join(dist, 'pullwatch.mjs');
  const why = staleReason(mtime(entry), buildInputs(opts.root, dist));
  if (why === null) return entry;
  opts.progress(`building the services (${why}); \`npm start -- --dev\` runs them from source instead`);
  const started = Date.now();
  const script = pathToFileURL(join(opts.root, 'scripts/build.mjs')).href;
  const { buildCli } = (await import(script)) as {
    buildCli(o: { quiet: boolean }): Promise<{ entry: string }>;
  };
  const built = await buildCli({ quiet: true });
  opts.progress(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return built.entry;
}
