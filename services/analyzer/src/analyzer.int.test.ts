import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { createProducer, ensureTopics, readTopic } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry, injectTraceHeaders } from '@pullwatch/telemetry';
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { loadAnalyzerConfig } from './config.ts';
import { createAnalyzer, type Analyzer } from './analyzer.ts';
import { until } from '../../../test/support/until.ts';

const endpoints = testEndpoints();
const logger = createLogger('analyzer-test', 'silent');
const kafka = { brokers: endpoints.kafka.brokers, clientId: 'analyzer-test', logger };
const admin = createClickHouse({ ...endpoints.clickhouse });
const databases: string[] = [];
// Spans of this process (the analyzer's, and the stand-in collector's below) are kept in memory.
const spans = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const minutesAgo = (m: number, s = 0) => new Date(Date.now() - m * 60_000 + s * 1000).toISOString();
function event(cluster: string, pod: string, uid: string, reason: string, message: string, count: number, at: string) {
  return eventEnvelope({
    cluster,
    source: 'http',
    event: K8sEventSchema.parse({
      metadata: { uid, name: `${pod}.${uid}`, namespace: 'shop', resourceVersion: String(count) },
      involvedObject: { kind: 'Pod', name: pod, namespace: 'shop', fieldPath: 'spec.containers{app}' },
      reason,
      message,
      count,
      firstTimestamp: minutesAgo(20),
      lastTimestamp: at,
      source: { host: `${cluster}-node` },
    }),
  });
}
const outage = (img: string) =>
  `Failed to pull image "${img}": rpc error: code = Unknown desc = failed to pull and unpack image "${img}": ` +
  `failed to resolve reference "${img}": unexpected status from HEAD request to ` +
  `https://quay.io/v2/acme/x/manifests/1: 503 Service Unavailable`;
const asMessage = (e: ReturnType<typeof event>) => ({ key: e.key, value: JSON.stringify(e.envelope) });

async function produce(topic: string, messages: { key: string; value: string; headers?: Record<string, string> }[]) {
  const p = await createProducer(kafka);
  try {
    await p.send(topic, messages);
  } finally {
    await p.close();
  }
}

async function query<T>(sql: string): Promise<T[]> {
  const rs = await admin.query({ query: sql, format: 'JSONEachRow' });
  return rs.json<T>();
}
const scalar = async (sql: string) => Number(Object.values((await query<Record<string, string>>(sql))[0] ?? {})[0]);

/** A fresh topic, dead-letter topic, group and database: no test sees another's messages or rows. */
async function fixture(partitions: number) {
  const name = uniqueName('analyzer_it');
  const database = name;
  databases.push(database);
  await migrate(admin, { database, ttlDays: 90 });
  const topics = { topic: name, dlq: `${name}_dlq` };
  await ensureTopics(kafka, [
    { topic: topics.topic, numPartitions: partitions },
    { topic: topics.dlq, numPartitions: 1 },
  ]);
  const running: Analyzer[] = [];
  const registries = new Map<Analyzer, ReturnType<typeof createMetricsRegistry>>();
  const analyzer = (): Analyzer => {
    const registry = createMetricsRegistry('analyzer-test');
    const a = createAnalyzer(
      loadAnalyzerConfig({
        PULLWATCH_TOPIC: topics.topic,
        PULLWATCH_TOPIC_PARTITIONS: String(partitions),
        PULLWATCH_DLQ_TOPIC: topics.dlq,
        PULLWATCH_ANALYZER_GROUP: `${name}_g`,
        PULLWATCH_CLICKHOUSE_DATABASE: database,
        PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600',
        PULLWATCH_ANALYZER_SESSION_TIMEOUT_MS: '6000',
        // Small slices: one fetch becomes several inserts and commits, and the counts must still be exact.
        PULLWATCH_ANALYZER_BATCH_MAX_ROWS: '4',
        PULLWATCH_ANALYZER_BATCH_MIN_BYTES: '1',
        PULLWATCH_ANALYZER_BATCH_MAX_WAIT_MS: '100',
      }),
      {
        logger,
        metrics: registry,
        kafka,
        clickhouse: createClickHouse({ ...endpoints.clickhouse }),
      },
    );
    running.push(a);
    registries.set(a, registry);
    return a;
  };
  /** A counter's value per label value, as the analyzer's /metrics would show it. */
  const counter = async (a: Analyzer, name: string, label: string) => {
    const m = await registries.get(a)?.getSingleMetric(name)?.get();
    return Object.fromEntries((m?.values ?? []).map((v) => [String(v.labels[label]), v.value]));
  };
  return { ...topics, database, analyzer, running, counter };
}

let current: Awaited<ReturnType<typeof fixture>> | null = null;

describe('analyzer against the real Kafka and ClickHouse', () => {
  afterEach(async () => {
    await Promise.all(current?.running.map((a) => a.stop()) ?? []);
    current = null;
  });
  afterAll(async () => {
    for (const db of databases) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    await admin.close();
  });

  it(
    'counts occurrences exactly under aggregation and ' + 'replays, across clusters, and finds one fleet incident',
    async () => {
      const f = await fixture(3);
      current = f;
      const a = f.analyzer();
      await a.start();
      const msgs: { key: string; value: string }[] = [];
      for (const [i, cluster] of ['eu-1', 'us-1', 'ap-1'].entries()) {
        // One aggregated Event whose count grows 1 → 2 → 5, each observation sent three times.
        for (const count of [1, 2, 5])
          for (let r = 0; r < 3; r++)
            msgs.push(
              asMessage(
                event(
                  cluster,
                  `web-${i}`,
                  `u-${cluster}`,
                  'Failed',
                  outage('quay.io/acme/x:1'),
                  count,
                  minutesAgo(6 - count, i),
                ),
              ),
            );
        msgs.push(
          asMessage(event(cluster, `web-${i}`, `s-${cluster}`, 'Failed', 'Error: ErrImagePull', 5, minutesAgo(1))),
        );
        msgs.push(
          asMessage(
            event(
              cluster,
              `web-${i}`,
              `b-${cluster}`,
              'BackOff',
              'Back-off pulling image "quay.io/acme/x:1"',
              4,
              minutesAgo(1),
            ),
          ),
        );
      }
      msgs.push(
        asMessage(
          event(
            'eu-1',
            'ok-1',
            'p-1',
            'Pulled',
            'Successfully pulled image "nginx:1.27" in 1.5s (1.5s including waiting). Image size: 5000 bytes.',
            1,
            minutesAgo(2),
          ),
        ),
      );
      await produce(f.topic, msgs);

      // The rows are visible in ClickHouse a moment before the analyzer counts the slice as done.
      await until(
        async () =>
          (await scalar(`SELECT count() FROM ${f.database}.raw_events`)) === msgs.length &&
          a.stats().consumed === msgs.length,
        'all messages stored and counted',
      );
      expect(a.stats()).toMatchObject({ consumed: msgs.length, deadLettered: 0 });
      const failures = await query<{ cluster: string; n: number }>(
        `SELECT cluster, sum(occurrences) AS n FROM ${f.database}.pull_failures GROUP BY cluster ORDER BY cluster`,
      );
      expect(failures.map((r) => [r.cluster, Number(r.n)])).toEqual([
        ['ap-1', 5],
        ['eu-1', 5],
        ['us-1', 5],
      ]);
      const stats = await query<{ cause: string; failures: number; successes: number }>(
        `SELECT cause, sum(failures) AS failures, sum(successes) AS successes FROM ${f.database}.pull_stats_1m ` +
          `GROUP BY cause ORDER BY cause`,
      );
      expect(stats.map((r) => [r.cause, Number(r.failures), Number(r.successes)])).toEqual([
        ['', 0, 1],
        ['registry_unavailable', 15, 0],
      ]);
      expect(
        await scalar(
          `SELECT count() FROM ${f.database}.pull_events WHERE outcome = 'state' AND attributed = 1 AND cause = ` +
            `'registry_unavailable'`,
        ),
      ).toBe(6);
      const pods = await query<{ attempts: number }>(
        `SELECT attempts FROM ${f.database}.pod_pull_state FINAL WHERE pod LIKE 'web-%'`,
      );
      expect(pods.map((p) => Number(p.attempts))).toEqual([5, 5, 5]);

      await a.correlateNow();
      const incidents = await query<{ scope: string; clusters: string[]; failures: number; status: string }>(
        `SELECT scope, clusters, failures, status FROM ${f.database}.incidents FINAL`,
      );
      expect(incidents).toEqual([{ scope: 'fleet', clusters: ['ap-1', 'eu-1', 'us-1'], failures: 15, status: 'open' }]);
      // 33 failure, status and back-off messages, every one classified or reused, the success apart. Of 4 texts:
      // each is classified once with its Pod's image unknown and once known (which comes first depends on how
      // the partitions interleave), so 4 to 8 classified, the rest reused.
      const answers = await f.counter(a, 'pullwatch_analyzer_classifications_total', 'answer');
      expect((answers.reused ?? 0) + (answers.computed ?? 0)).toBe(33);
      expect(answers.computed).toBeGreaterThanOrEqual(4);
      expect(answers.computed).toBeLessThanOrEqual(8);
    },
  );

  it('sends a poison message to the dead-letter topic with its error, and stores the rest', async () => {
    const f = await fixture(1);
    current = f;
    const a = f.analyzer();
    await a.start();
    const good = asMessage(event('eu-1', 'web-1', 'u-1', 'Failed', outage('quay.io/acme/x:1'), 1, minutesAgo(1)));
    await produce(f.topic, [good, { key: 'poison', value: '{"this is": "not an envelope"' }, good]);
    const [dead] = await readTopic(kafka, f.dlq, { count: 1, timeoutMs: 30_000 });
    expect(dead!.value!.toString()).toBe('{"this is": "not an envelope"');
    expect(dead!.key).toBe(`${f.topic}:0:1`);
    expect(dead!.headers).toMatchObject({
      'pullwatch-topic': f.topic,
      'pullwatch-partition': '0',
      'pullwatch-offset': '1',
    });
    expect(dead!.headers['pullwatch-error']).toMatch(/JSON/);
    await until(
      async () => (await scalar(`SELECT count() FROM ${f.database}.raw_events`)) === 2 && a.stats().consumed === 3,
      'the good two stored, all three counted',
    );
    expect(a.stats()).toMatchObject({ consumed: 3, deadLettered: 1 });
  });

  it(
    "continues the collector's trace: the analyzer's span for a message is a child of the span in its " + 'traceparent',
    async () => {
      const f = await fixture(1);
      current = f;
      const a = f.analyzer();
      await a.start();
      // As the collector does: a span per request, its W3C context in the headers of the request's messages.
      const tracer = trace.getTracer('collector-stand-in');
      const requests = [tracer.startSpan('collector.forward'), tracer.startSpan('collector.forward')];
      const headers = requests.map((span) => injectTraceHeaders(trace.setSpan(context.active(), span)));
      for (const span of requests) span.end();
      const msg = (i: number, h: Record<string, string>) => ({
        ...asMessage(event('eu-1', `web-${i}`, `t-${i}`, 'Failed', outage('quay.io/acme/x:1'), 1, minutesAgo(1))),
        headers: h,
      });
      await produce(f.topic, [msg(1, headers[0]!), msg(2, headers[0]!), msg(3, headers[1]!)]);
      await until(async () => (await scalar(`SELECT count() FROM ${f.database}.raw_events`)) === 3, 'all 3 stored');
      await until(
        () => spans.getFinishedSpans().filter((s) => s.name === 'analyzer.slice').length >= 2,
        'the analyzer spans to end',
        10_000,
      );
      const analyzed = spans.getFinishedSpans().filter((s) => s.name === 'analyzer.slice');
      const children = requests.map((r) =>
        analyzed.filter(
          (s) =>
            s.spanContext().traceId === r.spanContext().traceId &&
            s.parentSpanContext?.spanId === r.spanContext().spanId,
        ),
      );
      // Each request's events are followed under its own trace: two events under the first, one under the second.
      expect(children.map((c) => c.reduce((n, s) => n + Number(s.attributes['pullwatch.events']), 0))).toEqual([2, 1]);
    },
  );

  it(
    'two instances share the partitions: a rebalance restores the state from ClickHouse, both work, the sum ' +
      'is exact',
    async () => {
      const f = await fixture(4);
      current = f;
      const first = f.analyzer();
      await first.start();
      await until(() => first.assignment().partitions.length === 4, 'the first instance to hold all 4 partitions');
      // 40 Pods, each one Event seen twice with count 1 then 3 (occurrences 3 per Pod).
      const wave = (n: number) =>
        Array.from({ length: 40 }, (_, i) =>
          asMessage(
            event('eu-1', `w${n}-pod-${i}`, `u${n}-${i}`, 'Failed', outage('quay.io/acme/x:1'), 1, minutesAgo(3)),
          ),
        ).concat(
          Array.from({ length: 40 }, (_, i) =>
            asMessage(
              event('eu-1', `w${n}-pod-${i}`, `u${n}-${i}`, 'Failed', outage('quay.io/acme/x:1'), 3, minutesAgo(2)),
            ),
          ),
        );
      await produce(f.topic, wave(1));
      await until(async () => (await scalar(`SELECT count() FROM ${f.database}.raw_events`)) === 80, 'wave 1 stored');
      expect(first.stats().consumed).toBe(80);

      // The second instance joins: the group splits the partitions, and whoever gets a partition reloads its state.
      const second = f.analyzer();
      await second.start();
      await until(
        () => first.assignment().partitions.length === 2 && second.assignment().partitions.length === 2,
        'the partitions split 2 + 2',
      );
      expect([...first.assignment().partitions, ...second.assignment().partitions].sort()).toEqual([0, 1, 2, 3]);
      expect(second.assignment().rebalances).toBeGreaterThan(0);

      // Wave 2 repeats wave 1's last observations (nothing new: occurrences come from the restored counts), then
      // counts grow to 4.
      const again = wave(1).slice(40);
      const grow = Array.from({ length: 40 }, (_, i) =>
        asMessage(event('eu-1', `w1-pod-${i}`, `u1-${i}`, 'Failed', outage('quay.io/acme/x:1'), 4, minutesAgo(1))),
      );
      await produce(f.topic, [...again, ...grow]);
      await until(async () => (await scalar(`SELECT count() FROM ${f.database}.raw_events`)) === 160, 'wave 2 stored');

      const consumed = [first.stats().consumed, second.stats().consumed];
      expect(consumed[0]! - 80).toBeGreaterThan(0);
      expect(consumed[1]).toBeGreaterThan(0);
      expect(consumed[0]! + consumed[1]!).toBe(160);
      // 40 Pods × 4 occurrences, exactly: no count lost or doubled across the handover.
      expect(await scalar(`SELECT sum(occurrences) FROM ${f.database}.pull_failures`)).toBe(160);
      expect(await scalar(`SELECT count() FROM ${f.database}.raw_events`)).toBe(160);
    },
  );
});
