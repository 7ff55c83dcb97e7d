import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { deleteTopics, listTopics, topicOffsets } from '@pullwatch/kafka';
import { ServiceStack } from '../../../test/support/service-stack.ts';
import { until } from '../../../test/support/until.ts';

// The events topic deleted and created again under the same name (a Kafka cluster rebuilt, a topic
// recreated by hand) starts again at offset 0, while ClickHouse keeps the old topic's rows. The analyzer
// resumes after the highest offset it stored: read across both topics, it skipped every message of the
// new one until its offsets passed the old ones (found when `npm start` showed no failures on a Kafka
// whose data had been deleted, over a ClickHouse that kept its own).
const stack = new ServiceStack('topic_recreated', { env: { PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600' } });
const running = new ServiceStack('topic_recreated_live', { env: { PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600' } });
const { database, topic } = stack;
const admin = ServiceStack.clickhouse();

const envelopes = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    eventEnvelope({
      cluster: 'eu-1',
      source: 'http',
      event: K8sEventSchema.parse({
        metadata: { uid: `${prefix}-${i}`, name: `web-${i}.${prefix}`, namespace: 'shop' },
        involvedObject: { kind: 'Pod', name: `web-${i}`, namespace: 'shop', fieldPath: 'spec.containers{app}' },
        reason: 'Failed',
        message: `Failed to pull image "ghcr.io/acme/web:${prefix}": rpc error: code = NotFound desc = not found`,
        count: 1,
        lastTimestamp: new Date(Date.now() - 60_000).toISOString(),
      }),
    }),
  );

async function uids(prefix: string, db = database): Promise<number> {
  const rs = await admin.query({
    query: `SELECT uniqExact(event_uid) AS n FROM ${db}.raw_events WHERE startsWith(event_uid, {p:String})`,
    query_params: { p: `${prefix}-` },
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ n: string | number }>())[0]?.n);
}

describe('the events topic deleted and created again', () => {
  beforeAll(async () => {
    await stack.migrate(admin);
    await stack.topics(1);
  });
  afterAll(async () => {
    await running.stop();
    await stack.stop();
    await admin.close();
  });

  it("stores the new topic's messages, though the old topic's higher offsets are still in ClickHouse", async () => {
    const first = await stack.analyzer();
    await stack.produce(envelopes('old', 30));
    await until(async () => (await uids('old')) === 30, 'the old topic stored');
    await first.stop();

    await deleteTopics(stack.kafka, [topic]);
    await until(async () => !(await listTopics(stack.kafka)).includes(topic), 'the topic deleted');
    await stack.topics(1);
    await stack.produce(envelopes('new', 5));
    // The new topic's offsets (0–4) are all below the old ones (0–29).
    expect(await topicOffsets(stack.kafka, topic)).toEqual([5]);

    await stack.analyzer();
    await until(async () => (await uids('new')) === 5, "the new topic's 5 messages stored", 60_000);
    expect(await uids('old')).toBe(30);
    expect(await stack.count(admin, 'raw_events')).toBe(35);
  });

  it('stores them too when the topic is created again under a running analyzer', async () => {
    await running.migrate(admin);
    await running.topics(1);
    await running.analyzer();
    await running.produce(envelopes('old', 30));
    await until(async () => (await uids('old', running.database)) === 30, 'the old topic stored');

    await deleteTopics(running.kafka, [running.topic]);
    await until(async () => !(await listTopics(running.kafka)).includes(running.topic), 'the topic deleted');
    await running.topics(1);
    await running.produce(envelopes('new', 5));
    expect(await topicOffsets(running.kafka, running.topic)).toEqual([5]);
    await until(async () => (await uids('new', running.database)) === 5, "the new topic's 5 messages stored", 90_000);
    expect(await running.count(admin, 'raw_events')).toBe(35);
  });
});
