import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { kubeBinariesCached, kubeBinaryPaths } from '../../scripts/kube-binaries.mjs';

/**
 * The kube tier runs a real kube-apiserver and etcd, built from the Go module proxy by
 * scripts/kube-binaries.mjs and cached under ~/.cache/pullwatch/kube (.ci/run builds them first). Where
 * they are missing they are built here, which takes about 10 minutes on 2 cores, once.
 */
export default async function setup(): Promise<void> {
  if (kubeBinariesCached()) return;
  const log = (line: string) => process.stderr.write(`[kube] ${line}\n`);
  log('kube-apiserver and etcd not built yet; building them (about 10 minutes, once)');
  const script = join(import.meta.dirname, '../../scripts/kube-binaries.mjs');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0 || !kubeBinariesCached())
    throw new Error(`building kube-apiserver and etcd failed (exit ${code}); run node ${script} to see why`);
  log(`built: ${JSON.stringify(kubeBinaryPaths())}`);
}
