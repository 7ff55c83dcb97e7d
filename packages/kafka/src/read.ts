import { Consumer } from '@platformatic/kafka';
import { baseOptions, type KafkaConnection } from './connection.ts';
import type { ConsumedMessage } from './consumer.ts';
import { topicOffsets } from './admin.ts';

/**
 * Reads a topic from the beginning (tests, tools): until `count` messages arrived, or without a
 * count everything it holds now. Rejects after `timeoutMs`. Joins no group, commits nothing.
 */
export async function readTopic(
  conn: KafkaConnection,
  topic: string,
  opts: { count?: number; timeoutMs?: number } = {},
): Promise<ConsumedMessage[]> {
  const ends = await topicOffsets(conn, topic);
  const count = opts.count ?? ends.reduce((n, o) => n + o, 0);
  if (count === 0) return [];
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  // A consumer that got nothing at all for STALL_MS (seen once in hundreds of loaded test runs: no fetch
  // answered) is replaced by a fresh one, within the same deadline.
  for (;;) {
    const left = deadline - Date.now();
    try {
      return await readOnce(conn, topic, ends.length, count, Math.min(left, STALL_MS), left);
    } catch (err) {
      if (!(err instanceof NothingRead) || Date.now() >= deadline) throw err;
    }
  }
}

const STALL_MS = 10_000;

class NothingRead extends Error {}

async function readOnce(
  conn: KafkaConnection,
  topic: string,
  partitions: number,
  count: number,
  stallMs: number,
  timeoutMs: number,
): Promise<ConsumedMessage[]> {
  const c = new Consumer({ ...baseOptions(conn), groupId: `${conn.clientId}-read-${process.pid}-${Date.now()}` });
  const got: ConsumedMessage[] = [];
  try {
    const offsets = Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0n }));
    const stream = await c.consume({ topics: [topic], mode: 'manual', offsets, autocommit: false, maxWaitTime: 200 });
    await new Promise<void>((resolve, reject) => {
      const stall = setTimeout(() => {
        if (got.length === 0 && stallMs < timeoutMs) {
          clearTimeout(timer);
          reject(new NothingRead(`nothing read from ${topic} in ${stallMs} ms`));
        }
      }, stallMs);
      const timer = setTimeout(() => {
        clearTimeout(stall);
        reject(new Error(`read ${got.length} of ${count} messages from ${topic} within the deadline`));
      }, timeoutMs);
      stream.on('data', (m) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of m.headers) headers[k.toString()] = v?.toString() ?? '';
        got.push({
          topic: m.topic,
          partition: m.partition,
          offset: Number(m.offset),
          key: m.key ? m.key.toString() : null,
          value: m.value ?? null,
          headers,
        });
        if (got.length >= count) {
          clearTimeout(timer);
          clearTimeout(stall);
          resolve();
        }
      });
      stream.once('error', (err) => {
        clearTimeout(timer);
        clearTimeout(stall);
        reject(err);
      });
    });
    await stream.close();
  } finally {
    await new Promise<void>((resolve) => c.close(true, () => resolve()));
  }
  return got;
}
