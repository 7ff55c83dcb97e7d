import { Worker } from 'node:worker_threads';

/** One endpoint's probes: how many, how many failed or were slow, and the latencies. */
export interface ProbeSummary {
  url: string;
  probes: number;
  /** Probes that got no 200 (status, or 0 for a timeout or a refused connection), with when they happened. */
  failures: { at: number; status: number; ms: number }[];
  /** Probes that answered 200 but slower than `slowMs`. */
  slow: { at: number; ms: number }[];
  p50: number;
  p99: number;
  max: number;
}

export interface HealthProbes {
  /** Stops probing and summarises each endpoint. */
  stop(): Promise<ProbeSummary[]>;
}

// Runs in a worker thread: the test's own event loop (building 16 MiB bodies, parsing answers) must not delay the
// probes, or a slow test would be blamed on the services.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { urls, everyMs, timeoutMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: urls.length * 2 });
const samples = urls.map(() => []);
let stopping = false;
function probe(i) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const at = Date.now();
    let done = false;
    const finish = (status) => {
      if (done) return;
      done = true;
      samples[i].push([at, status, performance.now() - t0]);
      resolve();
    };
    const req = http.get(urls[i], { agent, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode));
      res.on('error', () => finish(0));
    });
    req.on('timeout', () => { req.destroy(); finish(0); });
    req.on('error', () => finish(0));
  });
}
async function loop(i) {
  while (!stopping) {
    const t = performance.now();
    await probe(i);
    const wait = everyMs - (performance.now() - t);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}
const loops = urls.map((_, i) => loop(i));
parentPort.on('message', async () => {
  stopping = true;
  await Promise.all(loops);
  agent.destroy();
  parentPort.postMessage(samples);
});
`;

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : Number.NaN;
}

/**
 * Probes each URL every `everyMs` (one probe in flight per URL) from a worker thread until stopped. A probe that
 * takes longer than `timeoutMs` counts as failed (status 0).
 */
export function startHealthProbes(
  urls: string[],
  opts: { everyMs?: number; timeoutMs?: number; slowMs: number },
): HealthProbes {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { urls, everyMs: opts.everyMs ?? 50, timeoutMs: opts.timeoutMs ?? 5000 },
  });
  let stopped: Promise<ProbeSummary[]> | null = null;
  return {
    stop() {
      stopped ??= new Promise<[number, number, number][][]>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage('stop');
      }).then(async (samples) => {
        await worker.terminate();
        return urls.map((url, i) => {
          const s = samples[i] ?? [];
          const ok = s.filter(([, status]) => status === 200);
          const ms = s.map(([, , t]) => t).sort((a, b) => a - b);
          return {
            url,
            probes: s.length,
            failures: s.filter(([, status]) => status !== 200).map(([at, status, t]) => ({ at, status, ms: t })),
            slow: ok.filter(([, , t]) => t > opts.slowMs).map(([at, , t]) => ({ at, ms: t })),
            p50: quantile(ms, 0.5),
            p99: quantile(ms, 0.99),
            max: ms[ms.length - 1] ?? Number.NaN,
          };
        });
      });
      return stopped;
    },
  };
}
