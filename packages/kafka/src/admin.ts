import { Admin, Consumer } from '@platformatic/kafka';
import { baseOptions, type KafkaConnection } from './connection.ts';
import { classifyKafkaError } from './errors.ts';
import { type KafkaSecurity, securityOptions } from './security.ts';
import type { TopicSpec } from './topics.ts';

/**
 * Creates the topics that are missing, with the cluster's default replication; existing topics are
 * left exactly as they are (their partition count never grows here).
 */
export async function ensureTopics(conn: KafkaConnection, topics: TopicSpec[]): Promise<void> {
  const admin = new Admin(baseOptions(conn));
  try {
    const existing = new Set(await admin.listTopics());
    for (const t of topics.filter((t) => !existing.has(t.topic))) {
      try {
        await admin.createTopics({
          topics: [t.topic],
          partitions: t.numPartitions,
          replicas: -1,
          configs: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        });
      } catch (err) {
        // Another process created it in the meantime: as good as created by us.
        if (classifyKafkaError(err).reason !== 'TOPIC_ALREADY_EXISTS') throw classifyKafkaError(err);
      }
    }
    // Leaders are elected shortly after creation; produce and consume only once metadata shows them.
    for (let attempt = 0; ; attempt++) {
      const meta = await admin.metadata({ topics: topics.map((t) => t.topic), forceUpdate: true });
      const ready = topics.every((t) => meta.topics.get(t.topic)?.partitions.every((p) => p.leader >= 0));
      if (ready || attempt >= 50) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    throw classifyKafkaError(err);
  } finally {
    await admin.close();
  }
}

/** The names of the cluster's topics (not the internal ones: consumer offsets, transactions). */
export async function listTopics(conn: KafkaConnection): Promise<string[]> {
  const admin = new Admin(baseOptions(conn));
  try {
    return await admin.listTopics();
  } catch (err) {
    throw classifyKafkaError(err);
  } finally {
    await admin.close();
  }
}

/** Deletes those of `topics` that exist (their data with them); resolves with the ones deleted. */
export async function deleteTopics(conn: KafkaConnection, topics: string[]): Promise<string[]> {
  const admin = new Admin(baseOptions(conn));
  try {
    const wanted = new Set(topics);
    const existing = (await admin.listTopics()).filter((t) => wanted.has(t));
    if (existing.length) await admin.deleteTopics({ topics: existing });
    return existing;
  } catch (err) {
    throw classifyKafkaError(err);
  } finally {
    await admin.close();
  }
}

/**
 * The topic's ID: a UUID the broker gives a topic when it is created, so a topic deleted and created
 * again under the same name has a new one. '' when the topic does not exist or the broker has none.
 */
export async function topicId(conn: KafkaConnection, topic: string): Promise<string> {
  const admin = new Admin(baseOptions(conn));
  try {
    if (!(await admin.listTopics()).includes(topic)) return '';
    const id = (await admin.metadata({ topics: [topic], forceUpdate: true })).topics.get(topic)?.id ?? '';
    // Brokers without topic IDs answer with the zero UUID.
    return /^[0-]*$/.test(id) ? '' : id;
  } catch (err) {
    throw classifyKafkaError(err);
  } finally {
    await admin.close();
  }
}

/** The partition count of a topic, or null when it does not exist. */
export async function topicPartitions(conn: KafkaConnection, topic: string): Promise<number | null> {
  const admin = new Admin(baseOptions(conn));
  try {
    if (!(await admin.listTopics()).includes(topic)) return null;
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
    return meta.topics.get(topic)?.partitionsCount ?? null;
  } finally {
    await admin.close();
  }
}

/** Each partition's leader (broker id; -1 while it has none), freshly read from the cluster. */
export async function partitionLeaders(conn: KafkaConnection, topic: string): Promise<Map<number, number>> {
  const admin = new Admin(baseOptions(conn));
  try {
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
    const partitions = meta.topics.get(topic)?.partitions ?? [];
    return new Map(partitions.map((p, i) => [i, p.leader]));
  } finally {
    await admin.close();
  }
}

/** The broker id coordinating a consumer group now (it moves when its broker dies). */
export async function groupCoordinator(conn: KafkaConnection, groupId: string): Promise<number> {
  const admin = new Admin(baseOptions(conn));
  try {
    // Key type 0: a consumer group (1 would be a transaction).
    const [found] = await admin.findCoordinator({ keyType: 0, keys: [groupId] });
    if (!found) throw new Error(`no coordinator found for group ${groupId}`);
    return found.nodeId;
  } catch (err) {
    throw classifyKafkaError(err);
  } finally {
    await admin.close();
  }
}

/** The end offset (next offset to be written) of every partition of a topic: the total written so far. */
export async function topicOffsets(conn: KafkaConnection, topic: string): Promise<number[]> {
  // Listing offsets needs no group membership; the group id is only required by the constructor.
  const c = new Consumer({ ...baseOptions(conn), groupId: `${conn.clientId}-offsets` });
  try {
    const offsets = await c.listOffsets({ topics: [topic] });
    return (offsets.get(topic) ?? []).map(Number);
  } catch (err) {
    throw classifyKafkaError(err);
  } finally {
    await c.close();
  }
}

/**
 * The brokers and controller the cluster reports, with one attempt bounded by `timeoutMs` (engine
 * readiness probes); throws when the cluster cannot be reached.
 */
export async function describeCluster(
  brokers: string[],
  timeoutMs: number,
  security?: KafkaSecurity,
): Promise<{ brokers: number; controllerId: number | null }> {
  const admin = new Admin({
    clientId: 'pullwatch-probe',
    bootstrapBrokers: brokers,
    timeout: timeoutMs,
    connectTimeout: timeoutMs,
    retries: 0,
    ...securityOptions(security),
  });
  try {
    const meta = await admin.metadata({ topics: [], forceUpdate: true });
    return { brokers: meta.brokers.size, controllerId: meta.controllerId >= 0 ? meta.controllerId : null };
  } finally {
    await admin.close().catch(() => undefined);
  }
}
