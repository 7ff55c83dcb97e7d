/**
 * What each stored event costs ClickHouse: bytes on disk per table and column per million events of
 * the end-to-end bench's mix (`makeEvents`), ClickHouse CPU per event of the analyzer's inserts, and
 * the analyzer's own CPU per event (processing and RowBinary encoding, in this process).
 *
 *   npx tsx bench/storage-footprint.ts [--events 200000] [--batch 5000] [--span-hours H] [--ch-pid PID] [--keep]
 *
 * The events go through the analyzer's processEnvelope and AnalyzerStore.writeBatch (the formats of
 * services/analyzer/src/core/table-formats.ts) into a fresh database migrated to the latest version;
 * then every table is merged (OPTIMIZE … FINAL) and measured from system.parts and system.columns.
 * ClickHouse CPU is the server process's CPU time from /proc (`--ch-pid`, the process listening on the
 * HTTP port) during the inserts, less its idle rate measured just before (other clients share it: repeat).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import {
  AnalyzerState,
  AnalyzerStore,
  type PodStateRow,
  PULL_EVENT_FORMAT,
  type PullEventRow,
  processEnvelope,
  RAW_EVENT_FORMAT,
  type RawEventRow,
} from '@pullwatch/analyzer';
import { makeEvents } from './ingest.ts';
import { cpuSeconds, sleep } from './support.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '5000' },
    clusters: { type: 'string', default: '20' },
    // makeEvents puts the events 1 ms apart; a span spreads them evenly over it (a fleet's real pace).
    'span-hours': { type: 'string' },
    'ch-pid': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const n = Number(args.events);
const batch = Number(args.batch);
const chPid = args['ch-pid'] ? Number(args['ch-pid']) : null;

const e = resolveEndpoints(loadEnginesConfig());
const ch = createClickHouse({ ...e.clickhouse, requestTimeoutMs: 600_000 });
const database = `storage_fp_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
await migrate(ch, { database, ttlDays: 90 });
const store = new AnalyzerStore(ch, database);

// The collector's envelopes, as JSON text (what the analyzer receives from Kafka).
const spanMs = args['span-hours'] ? Number(args['span-hours']) * 3_600_000 : n;
const t0 = Date.now() - spanMs - 20 * 60_000;
const texts = makeEvents(n, Number(args.clusters)).map(({ cluster, event }, i) => {
  const at = new Date(t0 + Math.floor((i * spanMs) / n));
  const timed = { ...event, firstTimestamp: at.toISOString(), lastTimestamp: at.toISOString() };
  return JSON.stringify(
    eventEnvelope({
      cluster,
      source: 'http',
      event: K8sEventSchema.parse(timed),
      receivedAt: new Date(at.getTime() + 1500),
    }).envelope,
  );
});

// The server's idle rate (other clients), to subtract.
const idleMs = 3000;
const idle0 = cpuSeconds(chPid);
await sleep(idleMs);
const idleRate = (cpuSeconds(chPid) - idle0) / (idleMs / 1000);

const state = new AnalyzerState();
const own0 = process.cpuUsage();
const server0 = cpuSeconds(chPid);
const wall0 = Date.now();
for (let i = 0; i < n; i += batch) {
  const pulls: PullEventRow[] = [];
  const raws: RawEventRow[] = [];
  const states = new Map<string, PodStateRow>();
  for (let j = i; j < Math.min(n, i + batch); j++) {
    const text = texts[j]!;
    const r = processEnvelope(JSON.parse(text), { partition: 0, offset: j }, state, {
      stuckAfterMs: 600_000,
      payload: text,
    });
    raws.push(r.raw);
    if (r.pull) pulls.push(r.pull);
    if (r.podState) states.set(`${r.podState.cluster}/${r.podState.namespace}/${r.podState.pod}`, r.podState);
  }
  await store.writeBatch(
    `fp:${i}`,
    [PULL_EVENT_FORMAT.block(pulls)],
    [RAW_EVENT_FORMAT.block(raws)],
    [...states.values()],
  );
}
const wallS = (Date.now() - wall0) / 1000;
const own = process.cpuUsage(own0);
// The inserts and the merges they start meanwhile, less what the server does for others.
const serverRaw = cpuSeconds(chPid) - server0;
const serverS = serverRaw - idleRate * wallS;

const tables = (
  await (
    await ch.query({
      query: "SELECT name FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree' ORDER BY name",
      query_params: { db: database },
      format: 'JSONEachRow',
    })
  ).json<{ name: string }>()
).map((r) => r.name);
// Merged, and in wide parts (small parts are compact, whose columns system.columns does not size).
for (const t of tables) {
  await ch.command({ query: `ALTER TABLE ${database}.${t} MODIFY SETTING min_bytes_for_wide_part = 0` });
  await ch.command({ query: `OPTIMIZE TABLE ${database}.${t} FINAL` });
}

const perM = (b: number | string) => Math.round((Number(b) / n) * 1e6);
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const parts = await (
  await ch.query({
    query: `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS disk,
              sum(data_compressed_bytes) AS comp, sum(data_uncompressed_bytes) AS uncomp
            FROM system.parts WHERE database = {db:String} AND active GROUP BY table ORDER BY disk DESC`,
    query_params: { db: database },
    format: 'JSONEachRow',
  })
).json<{ table: string; rows: string; disk: string; comp: string; uncomp: string }>();
const columns = await (
  await ch.query({
    query: `SELECT table, name, type, compression_codec AS codec,
              data_compressed_bytes AS comp, data_uncompressed_bytes AS uncomp
            FROM system.columns WHERE database = {db:String} AND data_compressed_bytes > 0
            ORDER BY table, comp DESC`,
    query_params: { db: database },
    format: 'JSONEachRow',
  })
).json<{ table: string; name: string; type: string; codec: string; comp: string; uncomp: string }>();

const out: string[] = [];
out.push(
  `database ${database}: ${n} events (event times over ${(spanMs / 3_600_000).toFixed(2)} h) ` +
    `stored in ${wallS.toFixed(1)} s, batches of ${batch}`,
);
out.push(
  `analyzer (this process) CPU per event: ${(((own.user + own.system) / n) * 1).toFixed(1)} µs ` +
    '(processing + encoding + HTTP)',
);
out.push(
  chPid
    ? `ClickHouse CPU per event: ${((serverS * 1e6) / n).toFixed(1)} µs ` +
        `(server ${((serverRaw * 1e6) / n).toFixed(1)} µs less idle ${idleRate.toFixed(3)} CPU-s/s)`
    : 'ClickHouse CPU: --ch-pid not given',
);
out.push('', 'table | rows | MiB on disk per M events | compressed MiB/M | uncompressed MiB/M | ratio');
let total = 0;
for (const p of parts) {
  total += perM(p.disk);
  out.push(
    `${p.table} | ${p.rows} | ${mib(perM(p.disk))} | ${mib(perM(p.comp))} | ${mib(perM(p.uncomp))} | ` +
      `${(Number(p.uncomp) / Number(p.comp)).toFixed(1)}`,
  );
}
out.push(`total | | ${mib(total)} | | |`);
out.push('', 'table.column (type, codec) | compressed MiB/M | uncompressed MiB/M | ratio');
for (const c of columns)
  if (perM(c.comp) >= 0.05 * 2 ** 20)
    out.push(
      `${c.table}.${c.name} (${c.type}${c.codec ? `, ${c.codec}` : ''}) | ` +
        `${mib(perM(c.comp))} | ${mib(perM(c.uncomp))} | ${(Number(c.uncomp) / Number(c.comp)).toFixed(1)}`,
    );
console.log(out.join('\n'));
if (!args.keep) await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
await ch.close();
