import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { deleteTopics, listTopics } from '@pullwatch/kafka';
import { createLogger } from '@pullwatch/telemetry';
import type { BenchContext, BenchSection } from './types.ts';

/** Every bench suite, in the order they run. Each measures its figures beside a same-run baseline. */
const suites: Record<string, () => Promise<{ run: (ctx: BenchContext) => Promise<BenchSection> }>> = {
  classifier: () => import('./classifier.ts'),
  'analyzer-steps': () => import('./analyzer-steps.ts'),
  'collector-steps': () => import('./collector-steps.ts'),
  'clickhouse-tables': () => import('./clickhouse-tables.ts'),
  'end-to-end': () => import('./end-to-end.ts'),
  cluster: () => import('./cluster.ts'),
  'otel-peer': () => import('./otel-peer.ts'),
  'npm-start': () => import('./npm-start.ts'),
  'query-api': () => import('./query-api.ts'),
  'kafka-clients': () => import('./kafka-clients.ts'),
  'events-per-message': () => import('./events-per-message.ts'),
};

export interface BenchOptions {
  only?: string[];
  scale: BenchContext['scale'];
  log: (line: string) => void;
}

export async function runBenchmarks(
  opts: BenchOptions,
): Promise<{ sections: BenchSection[]; jsonPath: string; markdownPath: string }> {
  const sections: BenchSection[] = [];
  const cleanUp = await benchTopicsCleaner(opts.log);
  for (const [name, load] of Object.entries(suites)) {
    if (opts.only?.length && !opts.only.includes(name)) continue;
    opts.log(`bench: ${name} …`);
    const t0 = Date.now();
    const suite = await load();
    try {
      sections.push(
        await suite.run({ scale: opts.scale, log: (l) => opts.log(`  ${name}: ${l}`), previous: [...sections] }),
      );
    } finally {
      await cleanUp();
    }
    opts.log(`bench: ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(resultsDir, { recursive: true });
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  const result = { at: new Date().toISOString(), machine, scale: opts.scale, sections };
  const jsonPath = join(resultsDir, 'latest.json');
  const markdownPath = join(resultsDir, 'latest.md');
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(markdownPath, toMarkdown(result));
  return { sections, jsonPath, markdownPath };
}

/**
 * Deletes, after each suite, the `bench_` topics of the local engines that were not there when the run
 * began: a suite's topics hold hundreds of megabytes (a 1M-event run, gigabytes), and kept they filled
 * the disk and slowed the broker's start past `engines up`'s 90 s. PULLWATCH_BENCH_KEEP_TOPICS=1 keeps
 * them. (The cluster suite's topics live on the cluster's own brokers.)
 */
async function benchTopicsCleaner(log: (line: string) => void): Promise<() => Promise<void>> {
  const keep = process.env.PULLWATCH_BENCH_KEEP_TOPICS === '1';
  const e = resolveEndpoints(loadEnginesConfig());
  const conn = { brokers: e.kafka.brokers, clientId: 'bench-cleanup', logger: createLogger('bench', 'silent') };
  const before = keep ? new Set<string>() : new Set(await listTopics(conn).catch(() => []));
  return async () => {
    if (keep) return;
    try {
      const made = (await listTopics(conn)).filter((t) => t.startsWith('bench_') && !before.has(t));
      const deleted = await deleteTopics(conn, made);
      if (deleted.length) log(`bench: deleted its ${deleted.length} topics (PULLWATCH_BENCH_KEEP_TOPICS=1 keeps them)`);
    } catch (err) {
      log(`bench: could not delete its topics: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(3)).toString();
}

export function toMarkdown(r: {
  at: string;
  machine: Record<string, unknown>;
  scale: BenchContext['scale'];
  sections: BenchSection[];
}): string {
  const lines = [
    `# pullwatch benchmarks`,
    '',
    `Run ${r.at} on ${JSON.stringify(r.machine)}; scale ${JSON.stringify(r.scale)}.`,
    '',
  ];
  for (const s of r.sections) {
    lines.push(`## ${s.name}`, '', '| metric | value | baseline | ratio | target |', '| --- | --- | --- | --- | --- |');
    for (const f of s.figures) {
      const baseline = f.baseline ? `${fmt(f.baseline.value)} ${f.unit} (${f.baseline.name})` : '';
      lines.push(
        `| ${f.metric} | ${fmt(f.value)} ${f.unit} | ${baseline} ` +
          `| ${f.ratio === undefined ? '' : `${fmt(f.ratio)}×`} | ${f.target ?? ''} |`,
      );
    }
    if (s.notes?.length) lines.push('', ...s.notes.map((n) => `- ${n}`));
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
