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
  const c = new Consumer({ ...baseOptions(conn), groupId: `${conn.clientId}-read-${process.pid}-${Date.now()}` });
  const got: ConsumedMessage[] = [];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  try {
    const offsets = ends.map((_, partition) => ({ topic, partition, offset: 0n }));
    const stream = await c.consume({ topics: [topic], mode: 'manual', offsets, autocommit: false, maxWaitTime: 200 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${got.length} of ${count} messages from ${topic} within ${timeoutMs} ms`)),
        timeoutMs,
      );
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
          resolve();
        }
      });
      stream.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    await stream.close();
  } finally {
    await new Promise<void>((resolve) => c.close(true, () => resolve()));
  }
  return got;
}
