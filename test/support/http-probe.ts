import { Worker } from 'node:worker_threads';

/** What a probe saw of one URL since the last report. */
export interface ProbeSeen {
  /** Answers received. */
  answers: number;
  /** The slowest answer (or failure), milliseconds from sending to the whole body. */
  maxMs: number;
  /** Statuses other than 200, and failures to connect or time-outs, as they came. */
  bad: string[];
}
export type ProbeReport = Record<string, ProbeSeen>;

// Plain JavaScript: an eval'd worker runs without the test runner's TypeScript loader.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { urls, everyMs, timeoutMs } = workerData;
const fresh = () => Object.fromEntries(urls.map((u) => [u, { answers: 0, maxMs: 0, bad: [] }]));
let seen = fresh();
let running = true;
// A report is sent after a whole round that began after it was asked for: every URL answered once more.
let asked = false;
parentPort.on('message', (m) => {
  if (m === 'stop') running = false;
  asked = true;
});
(async () => {
  for (;;) {
    const answering = asked;
    for (const url of urls) {
      const t0 = performance.now();
      let bad = null;
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        await r.text();
        if (r.status !== 200) bad = String(r.status);
      } catch (err) {
        bad = String(err && err.message);
      }
      const s = seen[url];
      s.answers += 1;
      s.maxMs = Math.max(s.maxMs, performance.now() - t0);
      if (bad !== null && s.bad.length < 10) s.bad.push(bad);
    }
    if (answering) {
      asked = false;
      parentPort.postMessage(seen);
      seen = fresh();
      if (!running) return;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
})();
`;

/**
 * Polls each URL in turn from a worker thread, so the probe keeps its own event loop while the server it
 * measures (which may share the test's process) is busy: a stalled server shows as a slow answer. `take`
 * reports what was seen since the last report (once each URL has answered after it was called); `stop` reports and ends the worker.
 */
export function startHttpProbe(urls: string[], opts: { everyMs?: number; timeoutMs?: number } = {}) {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { urls, everyMs: opts.everyMs ?? 5, timeoutMs: opts.timeoutMs ?? 30_000 },
  });
  const ask = (message: 'take' | 'stop') =>
    new Promise<ProbeReport>((resolve, reject) => {
      const failed = (err: Error) => reject(err);
      worker.once('error', failed);
      worker.once('message', (report: ProbeReport) => {
        worker.off('error', failed);
        resolve(report);
      });
      worker.postMessage(message);
    });
  return {
    take: () => ask('take'),
    stop: async () => {
      const report = await ask('stop');
      await worker.terminate();
      return report;
    },
  };
}
