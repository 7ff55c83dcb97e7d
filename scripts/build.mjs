// `npm run build`: bundles the `pullwatch` command into dist/pullwatch.mjs (plus the lazily loaded
// chunks of its subcommands) run by plain `node`, no tsx or TypeScript at run time, and copies the
// files the code reads at run time into dist/app/ in the repository's own layout.
//
// Every first-party module that uses `import.meta.url` gets it replaced by the URL its source file
// would have under dist/app/, so `new URL('../migrations', import.meta.url)` and friends find the
// copies without any setting. Third-party packages stay untouched.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

// Files read at run time, relative to the repository root (and so to dist/app/).
export const assets = [
  'packages/clickhouse/migrations', // migrate(): the SQL migrations
  'packages/dashboard/public', // query API: the dashboard page
  'packages/simulator/scenarios', // simulate/start: the default fleet scenario
  'services/collector/proto', // collector: the OTLP logs protobuf schema
  'services/query-api/alert-rules.yaml', // query API: the default alert rules
  'services/query-api/data', // query API: Docker Hub's official images, for "did you mean"

  'infra/kafka', // engines up (local Kafka): the Maven pom naming the jars
];

// Files of bundled third-party packages they read at run time, placed where the bundle's chunks look.
export const packageFiles = [
  // @platformatic/kafka's CRC32C (its loader is pointed at the copy by packageFileUrls).
  { pkg: '@platformatic/wasm-utils', file: 'dist/native.wasm', to: 'native.wasm' },
];

/** Third-party reads of their own files: pointed at the copies beside the chunks (`packageFiles`). */
const packageFileUrls = {
  name: 'package-file-urls',
  setup(b) {
    b.onLoad({ filter: /[\\/]@platformatic[\\/]wasm-utils[\\/]dist[\\/]index\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const from = "new URL('../dist/native.wasm', import.meta.url)";
      if (!text.includes(from)) throw new Error(`build: ${args.path} no longer reads ${from}; update packageFiles`);
      return { contents: text.replace(from, "new URL('./native.wasm', import.meta.url)"), loader: 'js' };
    });
  },
};

// Packages that must stay in node_modules: native addons, optional engines and tooling that only the
// local/containers engines or development commands load (never the services in a container).
export const external = [
  '@chdb/*',
  'testcontainers',
  'ssh2',
  'cpu-features',
  '@node-rs/*', // native (napi) addons: loaded from node_modules or, where optional, skipped
  'dockerode',
  'docker-modem',
  'playwright',
  'playwright-core',
  'tsx',
  'esbuild',
  'vitest',
];

/** Points first-party `import.meta.url` at the file's place under dist/app/ (chunks sit in dist/). */
const assetUrls = {
  name: 'asset-urls',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?[jt]s$/, namespace: 'file' }, (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(root, args.path).split(sep).join('/');
      // A file read beside the code must be among the assets, or the bundle would miss it at run time.
      for (const m of text.matchAll(/new URL\(\s*(['"])(.+?)\1\s*,\s*import\.meta\.url\s*\)/g)) {
        const target = relative(root, resolve(dirname(args.path), m[2]))
          .split(sep)
          .join('/');
        const covered = assets.some((a) => target === a || target.startsWith(`${a}/`) || a.startsWith(`${target}/`));
        const code = /\.[cm]?[jt]s$/.test(target);
        if (!covered && !code) throw new Error(`${rel} reads ${target} at run time: add it to the build's assets`);
      }
      const url = `new URL(${JSON.stringify(`./app/${rel}`)}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
    });
  },
};

/** `pullwatch bench` imports the bench from outside the packages; it runs from the source tree only. */
const noBench = {
  name: 'no-bench',
  setup(b) {
    b.onResolve({ filter: /^@pullwatch\/bench$|\/bench\/run\.ts$/ }, (args) => ({
      path: args.path,
      namespace: 'no-bench',
    }));
    b.onLoad({ filter: /.*/, namespace: 'no-bench' }, () => ({
      contents:
        "export function runBenchmarks() { throw new Error('the benchmarks run from the source tree: npx " +
        "pullwatch bench'); }",
      loader: 'js',
    }));
  },
};

// CommonJS dependencies inside an ES module bundle still call require() for Node built-ins and read
// __dirname; give every chunk module-scoped ones.
const banner = [
  "import { createRequire as __pwCreateRequire } from 'node:module';",
  "import { fileURLToPath as __pwFileURLToPath } from 'node:url';",
  "import { dirname as __pwDirname } from 'node:path';",
  'const require = __pwCreateRequire(import.meta.url);',
  'const __filename = __pwFileURLToPath(import.meta.url);',
  'const __dirname = __pwDirname(__filename);',
].join('\n');

export async function buildCli({ outdir = dist, quiet = false } = {}) {
  outdir = resolve(outdir);
  // The folder is emptied first: never the repository or a parent of it.
  if (root === outdir || root.startsWith(`${outdir}${sep}`)) throw new Error(`build: refusing to empty ${outdir}`);
  const started = Date.now();
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    stdin: {
      // The same as apps/cli/bin/pullwatch.js, without tsx.
      contents: [
        "import { main } from './apps/cli/src/main.ts';",
        'process.exitCode = await main(process.argv.slice(2));',
        '// A client library idle socket or timer must not keep the finished command alive.',
        'setTimeout(() => process.exit(), 2000).unref();',
      ].join('\n'),
      resolveDir: root,
      sourcefile: 'pullwatch-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    // Subcommands are loaded lazily (apps/cli/src/main.ts): one chunk each, so `pullwatch collector`
    // does not load the query API or the engines.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    outdir,
    entryNames: 'pullwatch',
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    external,
    plugins: [assetUrls, noBench, packageFileUrls],
    banner: { js: banner },
    sourcemap: 'linked',
    // Minified source is ~8 MiB less resident memory per service (V8 keeps the source text); functions keep
    // their names, and `node --enable-source-maps` maps stack traces back through the linked maps.
    minify: true,
    keepNames: true,
    legalComments: 'linked',
    metafile: true,
    logLevel: quiet ? 'error' : 'warning',
  });
  // Files third-party code reads beside itself (`new URL('../dist/x', import.meta.url)` from a chunk in dist/).
  for (const { pkg, file, to } of packageFiles) {
    const from = join(root, 'node_modules', pkg, file);
    if (!existsSync(from)) throw new Error(`build: ${pkg}'s ${file} is missing (npm install first)`);
    cpSync(from, join(outdir, to));
  }
  for (const a of assets) {
    const from = join(root, a);
    if (!existsSync(from)) throw new Error(`build: asset ${a} is missing`);
    cpSync(from, join(outdir, 'app', a), { recursive: true });
  }
  // Node reads this to treat dist/*.mjs as ESM anyway; it also stops a parent package.json from applying.
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  const bytes = Object.entries(result.metafile.outputs)
    .filter(([f]) => f.endsWith('.mjs'))
    .reduce((n, [, o]) => n + o.bytes, 0);
  if (!quiet)
    process.stdout.write(
      `build: ${relative(root, join(outdir, 'pullwatch.mjs'))} ` +
        `and ${Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.mjs')).length - 1} ` +
        `chunks, ${(bytes / 1048576).toFixed(1)} MiB, in ${Date.now() - started} ms\n`,
    );
  return {
    outdir,
    bytes,
    entry: join(outdir, 'pullwatch.mjs'),
    mtimeMs: statSync(join(outdir, 'pullwatch.mjs')).mtimeMs,
  };
}

// `node scripts/build.mjs [--outdir DIR]` (the smoke test builds into a folder of its own).
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const i = process.argv.indexOf('--outdir');
  await buildCli(i > 0 && process.argv[i + 1] ? { outdir: process.argv[i + 1] } : {});
}
