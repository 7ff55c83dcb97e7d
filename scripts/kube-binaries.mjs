#!/usr/bin/env node
// Builds the real kube-apiserver and etcd that the `kube` test tier runs against, from the published Go
// modules on the Go module proxy, and caches them under ~/.cache/pullwatch/kube/<version>/ so that every
// later run finds them in milliseconds. A cold build takes about 10 minutes on 2 cores.
//
//   node scripts/kube-binaries.mjs          build what is missing, then print the two paths as JSON
//   node scripts/kube-binaries.mjs --check  print the paths if both are cached, exit 1 otherwise
//
// kube-apiserver: `go install k8s.io/kubernetes/cmd/kube-apiserver@…` is refused because the module
// replaces its k8s.io/* dependencies with ./staging folders, so the module's source is copied somewhere
// writable, the workspace files, the stub vendor/ folder and those replaces are dropped, the k8s.io/*
// v0.0.0 requires point at the published v0.<minor>.<patch> modules, and the command is built there.
// etcd: a throw-away module requires go.etcd.io/etcd/server/v3 and builds its own main package.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.7.4';

const cacheRoot = () => process.env.PULLWATCH_KUBE_CACHE ?? join(homedir(), '.cache', 'pullwatch', 'kube');

/** Where the two binaries live once built (they may not exist yet). */
export function kubeBinaryPaths() {
  return {
    kubeApiserver: join(cacheRoot(), KUBERNETES_VERSION, 'kube-apiserver'),
    etcd: join(cacheRoot(), `etcd-${ETCD_VERSION}`, 'etcd'),
  };
}

export function kubeBinariesCached() {
  const paths = kubeBinaryPaths();
  return existsSync(paths.kubeApiserver) && existsSync(paths.etcd);
}

function go(args, options) {
  const started = Date.now();
  process.stderr.write(`kube-binaries: go ${args.join(' ')}\n`);
  const out = execFileSync('go', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
    ...options,
    env: { ...process.env, GOWORK: 'off', GOTOOLCHAIN: 'local', ...options?.env },
  });
  process.stderr.write(`kube-binaries:   (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  return out;
}

// Writes into a temporary name first, so an interrupted build never leaves a half-written binary cached.
function install(built, target) {
  mkdirSync(join(target, '..'), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  cpSync(built, partial);
  chmodSync(partial, 0o755);
  renameSync(partial, target);
}

function buildKubeApiserver(target, work) {
  const module = JSON.parse(go(['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`]));
  if (module.Error) throw new Error(`go mod download k8s.io/kubernetes: ${module.Error}`);
  const src = join(work, 'kubernetes');
  cpSync(module.Dir, src, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', src]);
  for (const stale of ['go.work', 'go.work.sum', 'vendor']) rmSync(join(src, stale), { recursive: true, force: true });

  const [, minor, patch] = KUBERNETES_VERSION.slice(1).split('.');
  const staging = `v0.${minor}.${patch}`;
  const mod = JSON.parse(go(['mod', 'edit', '-json'], { cwd: src }));
  const edits = [];
  for (const r of mod.Replace ?? []) {
    if (r.New.Path.startsWith('./staging/')) edits.push(`-dropreplace=${r.Old.Path}`);
  }
  for (const r of mod.Require ?? []) {
    if (r.Path.startsWith('k8s.io/') && r.Version === 'v0.0.0') edits.push(`-require=${r.Path}@${staging}`);
  }
  if (edits.length === 0)
    throw new Error('k8s.io/kubernetes go.mod: no ./staging replaces found; the recipe needs a look');
  go(['mod', 'edit', ...edits], { cwd: src });

  // The version stamp that upstream's hack/lib/version.sh writes, so /version answers like a release.
  const commit = module.Origin?.Hash ?? '';
  const stamp = {
    gitVersion: KUBERNETES_VERSION,
    gitMajor: KUBERNETES_VERSION.slice(1).split('.')[0],
    gitMinor: minor,
    gitCommit: commit,
    gitTreeState: 'clean',
    buildDate: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  const ldflags = ['k8s.io/client-go/pkg/version', 'k8s.io/component-base/version']
    .flatMap((pkg) => Object.entries(stamp).map(([k, v]) => `-X '${pkg}.${k}=${v}'`))
    .join(' ');
  const out = join(work, 'kube-apiserver');
  go(
    [
      'build',
      '-trimpath',
      '-tags',
      'selinux,notest,grpcnotrace',
      '-ldflags',
      `-s -w ${ldflags}`,
      '-o',
      out,
      './cmd/kube-apiserver',
    ],
    { cwd: src, env: { GOFLAGS: '-mod=mod -buildvcs=false', CGO_ENABLED: '0' } },
  );
  install(out, target);
}

function buildEtcd(target, work) {
  const dir = join(work, 'etcd');
  mkdirSync(dir);
  writeFileSync(join(dir, 'go.mod'), 'module pullwatch.local/etcd\n\ngo 1.25\n');
  const env = { GOFLAGS: '-mod=mod -buildvcs=false', CGO_ENABLED: '0' };
  go(['get', `go.etcd.io/etcd/server/v3@${ETCD_VERSION}`], { cwd: dir, env });
  const out = join(dir, 'etcd-bin');
  go(['build', '-trimpath', '-ldflags', '-s -w', '-o', out, 'go.etcd.io/etcd/server/v3'], { cwd: dir, env });
  install(out, target);
}

/** Builds whichever binary is missing; returns the paths. */
export function ensureKubeBinaries() {
  const paths = kubeBinaryPaths();
  if (existsSync(paths.etcd) && existsSync(paths.kubeApiserver)) return paths;
  const work = mkdtempSync(join(tmpdir(), 'pullwatch-kube-build-'));
  try {
    if (!existsSync(paths.etcd)) {
      const t = Date.now();
      buildEtcd(paths.etcd, work);
      process.stderr.write(`kube-binaries: etcd ${ETCD_VERSION} built in ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
    }
    if (!existsSync(paths.kubeApiserver)) {
      const t = Date.now();
      buildKubeApiserver(paths.kubeApiserver, work);
      process.stderr.write(
        `kube-binaries: kube-apiserver ${KUBERNETES_VERSION} built in ${((Date.now() - t) / 1000).toFixed(0)} s\n`,
      );
    }
  } finally {
    // The copied Kubernetes source is read-only in parts; make it removable first.
    execFileSync('chmod', ['-R', 'u+w', work]);
    rmSync(work, { recursive: true, force: true });
  }
  return paths;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--check')) {
    if (!kubeBinariesCached()) {
      process.stderr.write('kube-binaries: not built yet; run node scripts/kube-binaries.mjs\n');
      process.exit(1);
    }
    process.stdout.write(`${JSON.stringify(kubeBinaryPaths())}\n`);
  } else {
    process.stdout.write(`${JSON.stringify(ensureKubeBinaries())}\n`);
  }
}
