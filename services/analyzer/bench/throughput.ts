/**
 * Analyzer throughput against its baseline, in one run on the same topic: a raw kafkajs consumer that
 * only reads (the ceiling for any Kafka consumer here) vs the analyzer reading, classifying, counting
 * and inserting into ClickHouse until every row is stored.
 *
 *   npx tsx services/analyzer/bench/throughput.ts [messages=30000] [partitions=3]
 *
 * Uses the running engines (PULLWATCH_* or the defaults), a topic, groups and a database of its own,
 * and deletes them afterwards.
 */
import { randomUUID } from 'node:crypto';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { Kafka, logLevel } from 'kafkajs';
import { createProducer, ensureTopics } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { createAnalyzer, loadAnalyzerConfig } from '../src/index.ts';

const total = Number(process.argv[2] ?? 30_000);
const partitions = Number(process.argv[3] ?? 3);
const endpoints = resolveEndpoints(loadEnginesConfig());
const logger = createLogger('analyzer-bench', 'warn');
const conn = { brokers: endpoints.kafka.brokers, clientId: 'analyzer-bench', logger };
// The raw baseline stays a plain kafkajs consumer, as before the analyzer moved to @platformatic/kafka.
const kafka = new Kafka({ brokers: endpoints.kafka.brokers, clientId: 'analyzer-bench', logLevel: logLevel.NOTHING });
const admin = createClickHouse({ ...endpoints.clickhouse });
const id = randomUUID().replaceAll('-', '').slice(0, 10);
const topic = `bench_analyzer_${id}`;
const database = `bench_analyzer_${id}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A realistic mix: 60 % successful pulls, 30 % failures of three causes (aggregated counts), 10 % back-off. */
function messages(): { key: string; value: string }[] {
  const t0 = Date.now() - 30 * 60_000;
  const out: { key: string; value: string }[] = [];
  for (let i = 0; i < total; i++) {
    const img = `${['docker.io/library', 'ghcr.io/acme', 'quay.io/team'][i % 3]}/app-${i % 101}:1.${i % 7}`;
    const k = i % 10;
    const message =
      k < 6
        ? `Successfully pulled image "${img}" in 1.2s (1.2s including waiting). Image size: ${1_000_000 + i} bytes.`
        : k < 9
          ? [
              `Failed to pull image "${img}": rpc error: code = Unknown desc = failed to pull and unpack image ` +
                `"${img}": unexpected status code 429 Too Many Requests - Server message: toomanyrequests: You ` +
                `have reached your pull rate limit.`,
              `Failed to pull image "${img}": rpc error: code = NotFound desc = failed to pull and unpack ` +
                `image "${img}": failed to resolve reference "${img}": ${img}: not found`,
              `Failed to pull image "${img}": rpc error: code = Unknown desc = failed to resolve reference ` +
                `"${img}": dial tcp: lookup quay.io on 10.96.0.10:53: no such host`,
            ][i % 3]!
          : `Back-off pulling image "${img}"`;
    const pod = `app-${i % 5000}`;
    const { key, envelope } = eventEnvelope({
      cluster: `c${i % 4}`,
      source: 'http',
      event: K8sEventSchema.parse({
        metadata: { uid: randomUUID(), name: `${pod}.${i}`, namespace: `ns-${i % 13}`, resourceVersion: String(i) },
        involvedObject: { kind: 'Pod', name: pod, namespace: `ns-${i % 13}`, fieldPath: 'spec.containers{app}' },
        reason: k < 6 ? 'Pulled' : k < 9 ? 'Failed' : 'BackOff',
        message,
        type: k < 6 ? 'Normal' : 'Warning',
        count: 1 + (i % 3),
        lastTimestamp: new Date(t0 + i).toISOString(),
        source: { host: `node-${i % 40}` },
      }),
    });
    out.push({ key, value: JSON.stringify(envelope) });
  }
  return out;
}

async function rawConsume(): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${topic}_raw`, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const start = Date.now();
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: partitions,
      eachBatch: async ({ batch }) => {
        // Read every value, as any consumer must.
        for (const m of batch.messages) if (m.value) seen += 1;
        if (seen >= total) resolve();
      },
    });
  });
  await done;
  const ms = Date.now() - start;
  await consumer.disconnect();
  return ms;
}

async function storedRows(): Promise<number> {
  const rs = await admin.query({ query: `SELECT count() AS n FROM ${database}.raw_events`, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: number }>())[0]?.n ?? 0);
}

async function analyzerConsume(): Promise<number> {
  const cfg = loadAnalyzerConfig({
    PULLWATCH_TOPIC: topic,
    PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
    PULLWATCH_ANALYZER_GROUP: `${topic}_analyzer`,
    PULLWATCH_CLICKHOUSE_DATABASE: database,
    PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
  });
  const analyzer = createAnalyzer(cfg, {
    logger,
    metrics: createMetricsRegistry('analyzer-bench'),
    kafka: conn,
    clickhouse: createClickHouse({ ...endpoints.clickhouse }),
  });
  const start = Date.now();
  await analyzer.start();
  for (let i = 0; (await storedRows()) < total; i++) {
    if (i > 6000) throw new Error('analyzer did not store everything within 10 minutes');
    await sleep(100);
  }
  const ms = Date.now() - start;
  await analyzer.stop();
  return ms;
}

try {
  await migrate(admin, { database, ttlDays: 90 });
  await ensureTopics(conn, [{ topic, numPartitions: partitions }]);
  const msgs = messages();
  const producer = await createProducer(conn);
  for (let i = 0; i < msgs.length; i += 2000) await producer.send(topic, msgs.slice(i, i + 2000));
  await producer.close();
  const rawMs = await rawConsume();
  const analyzerMs = await analyzerConsume();
  const rate = (ms: number) => Math.round((total / ms) * 1000);
  const result = {
    messages: total,
    partitions,
    rawKafkajsPerSecond: rate(rawMs),
    analyzerPerSecond: rate(analyzerMs),
    ratio: Number((rawMs / analyzerMs).toFixed(3)),
    rawMs,
    analyzerMs,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
  const a = kafka.admin();
  await a.connect();
  await a.deleteTopics({ topics: [topic, `${topic}_dlq`] }).catch(() => undefined);
  await a.disconnect();
}
