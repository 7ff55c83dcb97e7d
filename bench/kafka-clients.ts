/**
 * CPU per message of producing the collector's envelopes (keyed by Pod, acks=all, idempotent, with a
 * traceparent header) through kafkajs and through @platformatic/kafka (the services' client, via
 * @pullwatch/kafka), alternately, in this one process, on the same broker, topic layout and batches.
 * Also part of `npm run bench` as `--only kafka-clients`; alone:
 *
 *   npx tsx bench/kafka-clients.ts [events=50000] [batch=200] [rounds=2] [concurrency=4]
 *
 * (With concurrency > 1, @pullwatch/kafka sends what arrives during a request in the next one: fewer,
 * larger requests; kafkajs sends each batch as its own request, one at a time.)
 *
 * Uses the running engines (PULLWATCH_* or the defaults) and topics of its own.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { createProducer, ensureTopics } from '@pullwatch/kafka';
import { createLogger } from '@pullwatch/telemetry';
import { makeEvents } from './ingest.ts';
import type { BenchContext, BenchFigure, BenchSection } from './types.ts';

type Message = { key: string; value: string; headers: Record<string, string> };
/** Sends one batch and resolves once it is acknowledged. */
type Send = (topic: string, batch: Message[]) => Promise<void>;

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
/** Sends in flight at once, as concurrent ingest requests put them in the collector. */
let CONCURRENCY = 4;

async function measure(send: Send, topic: string, messages: Message[], batch: number) {
  const before = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let next = 0;
  const take = () => {
    const i = next;
    next += batch;
    return i;
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = take(); i < messages.length; i = take()) await send(topic, messages.slice(i, i + batch));
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(before);
  return { cpuMicrosPerMessage: (cpu.user + cpu.system) / messages.length, perSecond: messages.length / seconds };
}

export async function compare(events: number, batch: number, rounds: number, log: (l: string) => void) {
  const e = resolveEndpoints(loadEnginesConfig());
  const conn = { brokers: e.kafka.brokers, clientId: 'bench-clients', logger: createLogger('bench', 'warn') };
  const messages: Message[] = makeEvents(events, 20).map((ev) => {
    const { key, envelope } = eventEnvelope({
      cluster: ev.cluster,
      source: 'http',
      event: K8sEventSchema.parse(ev.event),
    });
    return { key, value: JSON.stringify(envelope), headers: { traceparent: TRACEPARENT } };
  });
  const id = randomUUID().slice(0, 8);
  const kafkajs = new Kafka({ brokers: e.kafka.brokers, clientId: 'bench-clients', logLevel: logLevel.NOTHING });
  const jsProducer = kafkajs.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await jsProducer.connect();
  const pwProducer = await createProducer(conn);
  const clients: Record<string, Send> = {
    kafkajs: async (topic, b) => void (await jsProducer.send({ topic, acks: -1, messages: b })),
    '@platformatic/kafka': (topic, b) => pwProducer.send(topic, b),
  };
  const results: Record<string, { cpuMicrosPerMessage: number; perSecond: number }[]> = Object.fromEntries(
    Object.keys(clients).map((name) => [name, []]),
  );
  try {
    for (let round = 0; round < rounds; round++)
      for (const [name, send] of Object.entries(clients)) {
        const topic = `bench_clients_${id}_${round}_${name.replace(/\W/g, '')}`;
        await ensureTopics(conn, [{ topic, numPartitions: 6 }]);
        await send(topic, messages.slice(0, batch)); // warm-up: connections, metadata, producer id
        const r = await measure(send, topic, messages, batch);
        results[name]!.push(r);
        log(
          `${name} round ${round + 1}: ${r.cpuMicrosPerMessage.toFixed(1)} µs ` +
            `CPU/message, ${Math.round(r.perSecond)}/s`,
        );
      }
  } finally {
    await jsProducer.disconnect();
    await pwProducer.close();
  }
  const best = (name: string) => Math.min(...results[name]!.map((r) => r.cpuMicrosPerMessage));
  const rate = (name: string) => Math.max(...results[name]!.map((r) => r.perSecond));
  return { results, best, rate };
}

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const batch = 200;
  const { best, rate } = await compare(ctx.scale.events, batch, 2, ctx.log);
  const figures: BenchFigure[] = [
    {
      metric: `produce CPU per message, @platformatic/kafka (batches of ${batch}, ${CONCURRENCY} in flight)`,
      value: best('@platformatic/kafka'),
      unit: 'µs',
      baseline: { name: 'kafkajs, same messages and batches', value: best('kafkajs') },
      ratio: best('@platformatic/kafka') / best('kafkajs'),
    },
    {
      metric: 'produce rate, @platformatic/kafka',
      value: rate('@platformatic/kafka'),
      unit: 'messages/s',
      baseline: { name: 'kafkajs', value: rate('kafkajs') },
      ratio: rate('@platformatic/kafka') / rate('kafkajs'),
    },
  ];
  return {
    name: 'kafka clients',
    figures,
    notes: ['Best of two alternating rounds each; acks=all, idempotent, keyed by Pod, one traceparent header.'],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [events = 50_000, batch = 200, rounds = 2, concurrency = 4] = process.argv.slice(2).map(Number);
  CONCURRENCY = concurrency;
  const { results } = await compare(events, batch, rounds, (l) => process.stdout.write(`${l}\n`));
  process.stdout.write(`${JSON.stringify({ events, batch, concurrency: CONCURRENCY, results })}\n`);
}
