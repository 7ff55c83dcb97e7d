import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '@pullwatch/clickhouse';
import { createGroupConsumer, createProducer, ensureTopics, topicPartitions } from '@pullwatch/kafka';
import { createLogger } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from './support/endpoints.ts';

const endpoints = testEndpoints();
const logger = createLogger('engines-test', 'warn');

describe('the real Kafka broker', () => {
  const kafka = { brokers: endpoints.kafka.brokers, clientId: 'engines-test', logger };

  it('produces and consumes through a topic with several partitions and a consumer group', async () => {
    const topic = uniqueName('engines_it');
    await ensureTopics(kafka, [{ topic, numPartitions: 4 }]);
    expect(await topicPartitions(kafka, topic)).toBe(4);

    const producer = await createProducer(kafka);
    const sent = Array.from({ length: 200 }, (_, i) => ({ key: `pod-${i % 17}`, value: JSON.stringify({ i }) }));
    await producer.send(topic, sent);
    await producer.close();

    const consumer = createGroupConsumer(kafka, {
      groupId: uniqueName('group'),
      topic,
      sessionTimeoutMs: 10_000,
      minBytes: 1,
      maxWaitMs: 100,
      maxBytesPerPartition: 1 << 20,
    });
    const seen: { partition: number; key: string; i: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.length} of 200 consumed`)), 60_000);
      void consumer.run(async ({ partition, messages }) => {
        for (const m of messages)
          seen.push({ partition, key: m.key!, i: (JSON.parse(m.value!.toString()) as { i: number }).i });
        if (seen.length === sent.length) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await consumer.close();

    expect(seen.map((s) => s.i).sort((a, b) => a - b)).toEqual(sent.map((_, i) => i));
    // Same key, same partition, in order: the property the pipeline relies on for per-Pod order.
    const byKey = new Map<string, { partitions: Set<number>; order: number[] }>();
    for (const s of seen) {
      const entry = byKey.get(s.key) ?? { partitions: new Set(), order: [] };
      entry.partitions.add(s.partition);
      entry.order.push(s.i);
      byKey.set(s.key, entry);
    }
    for (const { partitions, order } of byKey.values()) {
      expect(partitions.size).toBe(1);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(new Set(seen.map((s) => s.partition)).size).toBeGreaterThan(1);
  });
});

describe('the real ClickHouse server', () => {
  const database = uniqueName('engines_it');
  const client = createClickHouse({ ...endpoints.clickhouse });
  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

  it('creates a MergeTree table, inserts, and queries with parameters', async () => {
    await client.command({ query: `CREATE DATABASE ${database}` });
    await client.command({
      query:
        `CREATE TABLE ${database}.pulls (t DateTime64(3, 'UTC'), registry LowCardinality(String), ` +
        `failures UInt32) ENGINE = MergeTree ORDER BY (registry, t)`,
    });
    await client.insert({
      table: `${database}.pulls`,
      format: 'JSONEachRow',
      values: [
        { t: '2026-11-24 10:00:00.000', registry: 'docker.io', failures: 3 },
        { t: '2026-11-24 10:01:00.000', registry: 'docker.io', failures: 4 },
        { t: '2026-11-24 10:02:00.000', registry: 'ghcr.io', failures: 1 },
      ],
      clickhouse_settings: { async_insert: 0 },
    });
    const rs = await client.query({
      query:
        `SELECT registry, sum(failures) AS failures FROM ${database}.pulls WHERE registry = ` +
        `{registry:String} AND t >= {from:DateTime64(3)} GROUP BY registry`,
      query_params: { registry: "docker.io' OR 1=1 --", from: '2026-11-24 00:00:00' },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([]);
    const ok = await client.query({
      query:
        `SELECT registry, sum(failures) AS failures FROM ${database}.pulls WHERE registry = ` +
        `{registry:String} GROUP BY registry`,
      query_params: { registry: 'docker.io' },
      format: 'JSONEachRow',
    });
    // ClickHouse 26 writes 64-bit integers as JSON numbers (older servers quote them): accept both.
    const rows = await ok.json<{ registry: string; failures: number | string }>();
    expect(rows.map((r) => ({ ...r, failures: Number(r.failures) }))).toEqual([{ registry: 'docker.io', failures: 7 }]);
    const engine = await client.query({
      query: 'SELECT engine FROM system.tables WHERE database = {db:String} AND name = {t:String}',
      query_params: { db: database, t: 'pulls' },
      format: 'JSONEachRow',
    });
    expect(await engine.json()).toEqual([{ engine: 'MergeTree' }]);
  });
});
