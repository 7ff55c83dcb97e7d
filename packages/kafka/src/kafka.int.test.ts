import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import {
  classifyKafkaError,
  createGroupConsumer,
  createProducer,
  deleteTopics,
  ensureTopics,
  type GroupConsumer,
  KafkaMessageTooLargeError,
  KafkaPermanentError,
  KafkaRetryableError,
  listTopics,
  type PartitionBatch,
  topicId,
  readTopic,
  topicOffsets,
  topicPartitions,
} from './index.ts';
import { until } from '../../../test/support/until.ts';

const conn = {
  brokers: testEndpoints().kafka.brokers,
  clientId: 'kafka-pkg-test',
  logger: createLogger('kafka-test', 'silent'),
};

describe('@pullwatch/kafka against the real broker', () => {
  const open: GroupConsumer[] = [];
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
  });

  it('creates missing topics once and never changes an existing one', async () => {
    const topic = uniqueName('kafka_topics');
    await ensureTopics(conn, [{ topic, numPartitions: 3 }]);
    await ensureTopics(conn, [{ topic, numPartitions: 5 }]);
    expect(await topicPartitions(conn, topic)).toBe(3);
    expect(await topicOffsets(conn, topic)).toEqual([0, 0, 0]);
  });

  it('lists topics, tells a topic created again by its ID, and deletes those asked for that exist', async () => {
    const [a, b, never] = [uniqueName('kafka_del'), uniqueName('kafka_del'), uniqueName('kafka_del')];
    await ensureTopics(conn, [
      { topic: a, numPartitions: 2 },
      { topic: b, numPartitions: 1 },
    ]);
    const producer = await createProducer(conn);
    await producer.send(a, [{ key: 'k', value: 'v' }]);
    await producer.close();
    const before = await listTopics(conn);
    expect(before).toEqual(expect.arrayContaining([a, b]));
    expect(before).not.toContain('__consumer_offsets');
    const idBefore = await topicId(conn, a);
    expect(idBefore).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await topicId(conn, never)).toBe('');
    expect((await deleteTopics(conn, [a, never])).sort()).toEqual([a]);
    await until(async () => !(await listTopics(conn)).includes(a), `${a} deleted`);
    expect(await topicId(conn, a)).toBe('');
    // Created again under the same name: another ID.
    await ensureTopics(conn, [{ topic: a, numPartitions: 1 }]);
    const idAfter = await topicId(conn, a);
    expect(idAfter).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(idAfter).not.toBe(idBefore);
    expect(await deleteTopics(conn, [a])).toEqual([a]);
    await until(async () => !(await listTopics(conn)).includes(a), `${a} deleted again`);
    expect(await listTopics(conn)).toContain(b);
    expect(await topicPartitions(conn, a)).toBeNull();
    expect(await deleteTopics(conn, [a, never])).toEqual([]);
    expect(await deleteTopics(conn, [b])).toEqual([b]);
  });

  it('produces keyed messages to kafkajs/Java partitions, in order, with headers', async () => {
    const topic = uniqueName('kafka_produce');
    await ensureTopics(conn, [{ topic, numPartitions: 6 }]);
    const producer = await createProducer(conn);
    try {
      await producer.send(
        topic,
        Array.from({ length: 20 }, (_, i) => ({
          key: `pod-${i % 4}`,
          value: String(i),
          headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        })),
      );
    } finally {
      await producer.close();
    }
    const got = await readTopic(conn, topic);
    expect(got).toHaveLength(20);
    // murmur2(key) & 0x7fffffff % 6, as kafkajs's default and Java's partitioners place them.
    const partitionOf = new Map(got.map((m) => [m.key, m.partition]));
    expect(Object.fromEntries(partitionOf)).toEqual({ 'pod-0': 0, 'pod-1': 0, 'pod-2': 3, 'pod-3': 1 });
    for (const key of partitionOf.keys())
      expect(got.filter((m) => m.key === key).map((m) => Number(m.value!.toString()))).toEqual(
        Array.from({ length: 5 }, (_, j) => Number(key!.slice(4)) + 4 * j),
      );
    expect(got[0]!.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  it('writes every one of many concurrent sends to one partition, and sends again afterwards', async () => {
    const topic = uniqueName('kafka_concurrent');
    await ensureTopics(conn, [{ topic, numPartitions: 1 }]);
    const producer = await createProducer(conn);
    try {
      // The collector sends each ingest request's events as they come, many at once.
      await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send(topic, [{ key: 'pod', value: String(i) }])));
      await producer.send(topic, [{ key: 'pod', value: 'after' }]);
    } finally {
      await producer.close();
    }
    expect(await topicOffsets(conn, topic)).toEqual([21]);
    const values = (await readTopic(conn, topic)).map((m) => m.value!.toString());
    expect(
      values
        .slice(0, 20)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(values[20]).toBe('after');
  });

  it('hands batches per partition, and a restarted group resumes after the last commit only', async () => {
    const topic = uniqueName('kafka_group');
    const groupId = `${topic}_g`;
    await ensureTopics(conn, [{ topic, numPartitions: 2 }]);
    const producer = await createProducer(conn);
    await producer.send(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: String(i) })),
    );
    const seen: PartitionBatch[] = [];
    // Recorded here and asserted after: a throw inside the handler would only make the consumer restart.
    const commits: { partition: number; offset: number; ok: boolean }[] = [];
    const restarts: unknown[] = [];
    const options = {
      groupId,
      topic,
      sessionTimeoutMs: 6000,
      minBytes: 1,
      maxWaitMs: 100,
      maxBytesPerPartition: 1 << 20,
    };
    const first = createGroupConsumer(conn, options, { restarting: (err) => restarts.push(err) });
    open.push(first);
    await first.run(async (batch, control) => {
      seen.push(batch);
      // Commit everything but the last message of each batch.
      const last = batch.messages[batch.messages.length - 1]!.offset;
      if (last > batch.messages[0]!.offset)
        commits.push({ partition: batch.partition, offset: last - 1, ok: await control.commit(last - 1) });
    });
    await until(() => seen.reduce((n, b) => n + b.messages.length, 0) === 10, 'all 10 consumed');
    await first.close();
    open.splice(open.indexOf(first), 1);
    expect(restarts).toEqual([]);
    expect(commits.every((c) => c.ok)).toBe(true);
    for (const b of seen) {
      expect(b.messages.every((m) => m.partition === b.partition)).toBe(true);
      const offsets = b.messages.map((m) => m.offset);
      expect(offsets).toEqual([...offsets].sort((a, c) => a - c));
    }
    const ends = await topicOffsets(conn, topic);
    // One batch per partition here (all 10 were produced before the group joined): each committed all but its last.
    expect(commits.map((c) => `${c.partition}@${c.offset}`).sort()).toEqual(
      ends.flatMap((e, p) => (e > 1 ? [`${p}@${e - 2}`] : [])).sort(),
    );

    const again: string[] = [];
    const second = createGroupConsumer(conn, options, { restarting: (err) => restarts.push(err) });
    open.push(second);
    await second.run(async (batch) => {
      for (const m of batch.messages) again.push(`${m.partition}@${m.offset}`);
    });
    // Exactly the last message of each non-empty partition comes again. A partition is delivered in order, so
    // once its last message is here, anything before it that came again would be here too.
    const lasts = ends.flatMap((e, p) => (e > 0 ? [`${p}@${e - 1}`] : []));
    await until(() => lasts.every((l) => again.includes(l)), 'the uncommitted messages again');
    expect(again.sort()).toEqual(lasts.sort());
    expect(restarts).toEqual([]);
    await producer.close();
  });

  it('classifies errors by the broker code: a message over the limit is permanent, an unreachable broker ' +
    'retryable', async () => {
    const topic = uniqueName('kafka_errors');
    // A topic that takes batches of at most 2 KiB.
    await ensureTopics(conn, [{ topic, numPartitions: 1, config: { 'max.message.bytes': '2048' } }]);
    const producer = await createProducer(conn);
    try {
      const err = await producer.send(topic, [{ key: 'k', value: 'x'.repeat(10_000) }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KafkaMessageTooLargeError);
      expect(err).toBeInstanceOf(KafkaPermanentError);
      expect((err as KafkaMessageTooLargeError).reason).toMatch(/^(MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE)$/);
    } finally {
      await producer.close();
    }
    // Nothing listens on port 1: no connection at all.
    const down = await createProducer({ ...conn, brokers: ['127.0.0.1:1'] }, { requestTimeoutMs: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(down).toBeInstanceOf(KafkaRetryableError);
    expect(classifyKafkaError(down).retryable).toBe(true);
  }, 60_000);
});
