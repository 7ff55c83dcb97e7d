/**
 * What several events per Kafka message would save, before anyone redesigns the envelope for it: the
 * same envelopes produced and consumed through the services' client (@pullwatch/kafka), one per
 * message as the collector sends them today, and grouped into JSON arrays of `group` envelopes. CPU per
 * event of each side (this process, measured apart) and of the broker (its process, from /proc), in
 * alternating rounds, each round on its own topic and consumer group.
 *
 * The consume side decodes as the analyzer's first stage does (UTF-8 text, JSON.parse): what follows
 * (schema, classification, rows) is per event either way. Also part of `npm run bench` as
 * `--only events-per-message`; alone:
 *
 *   npx tsx bench/events-per-message.ts [events=100000] [group=50] [rounds=2]
 *
 * Uses the running engines (PULLWATCH_* or the defaults) and topics of its own.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { LocalEngines, loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import { createGroupConsumer, createProducer, ensureTopics, type OutgoingMessage } from '@pullwatch/kafka';
import { createLogger } from '@pullwatch/telemetry';
import { makeEvents } from './ingest.ts';
import { cpuSeconds } from './support.ts';
import type { BenchContext, BenchFigure, BenchSection } from './types.ts';

/** Events per send, as one ingest request of the end-to-end bench hands them to the producer. */
const SEND = 2000;
const PARTITIONS = 6;

interface Side {
  /** µs of CPU per event: this process producing, the broker meanwhile. */
  produce: number;
  produceBroker: number;
  /** µs of CPU per event: this process consuming and decoding, the broker meanwhile. */
  consume: number;
  consumeBroker: number;
}

const total = (s: Side) => s.produce + s.produceBroker + s.consume + s.consumeBroker;

/** Envelopes as the collector encodes them: a Pod's key and the envelope's JSON bytes (made before any timing). */
export function envelopes(events: number): OutgoingMessage[] {
  return makeEvents(events, 50).map((ev) => {
    const { key, envelope } = eventEnvelope({
      cluster: ev.cluster,
      source: 'http',
      event: K8sEventSchema.parse(ev.event),
    });
    return { key, value: Buffer.from(JSON.stringify(envelope)) };
  });
}

/**
 * Groups of `group` consecutive envelopes of one send as one message: a JSON array, keyed by its first
 * envelope's key (a real design would group by partition; the CPU per event does not depend on which).
 */
export function grouped(sends: OutgoingMessage[][], group: number): OutgoingMessage[][] {
  return sends.map((send) => {
    const out: OutgoingMessage[] = [];
    for (let i = 0; i < send.length; i += group) {
      const part = send.slice(i, i + group);
      out.push({ key: part[0]!.key, value: Buffer.from(`[${part.map((m) => String(m.value)).join(',')}]`) });
    }
    return out;
  });
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** CPU seconds of this process (user + system). */
const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function measureSide(
  conn: Parameters<typeof createProducer>[0],
  brokerPid: number | null,
  topic: string,
  sends: OutgoingMessage[][],
  events: number,
  perMessage: number,
): Promise<Side> {
  await ensureTopics(conn, [
    { topic, numPartitions: PARTITIONS },
    { topic: `${topic}_warm`, numPartitions: PARTITIONS },
  ]);
  const producer = await createProducer(conn);
  // Warm-up: connections, metadata and the producer id, on a topic of its own.
  await producer.send(`${topic}_warm`, sends[0]!);
  let cpu0 = ownCpu();
  let broker0 = cpuSeconds(brokerPid);
  // Four sends in flight, as four concurrent ingest requests give the collector.
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = next++; i < sends.length; i = next++) await producer.send(topic, sends[i]!);
    }),
  );
  const produce = ((ownCpu() - cpu0) * 1e6) / events;
  const produceBroker = ((cpuSeconds(brokerPid) - broker0) * 1e6) / events;
  await producer.close();

  const messages = Math.ceil(events / perMessage);
  let seen = 0;
  let decoded = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const consumer = createGroupConsumer(conn, {
    groupId: `${topic}_g`,
    topic,
    sessionTimeoutMs: 10_000,
    minBytes: 1,
    maxWaitMs: 100,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  cpu0 = ownCpu();
  broker0 = cpuSeconds(brokerPid);
  const running = consumer.run(async (batch) => {
    for (const m of batch.messages) {
      const value = JSON.parse(m.value?.toString('utf8') ?? 'null') as unknown;
      decoded += Array.isArray(value) ? value.length : 1;
    }
    seen += batch.messages.length;
    if (seen >= messages) done();
  });
  await finished;
  const consume = ((ownCpu() - cpu0) * 1e6) / events;
  const consumeBroker = ((cpuSeconds(brokerPid) - broker0) * 1e6) / events;
  await consumer.close();
  await running;
  if (decoded !== events) throw new Error(`${topic}: decoded ${decoded} events of ${events}`);
  return { produce, produceBroker, consume, consumeBroker };
}

export async function compare(events: number, group: number, rounds: number, log: (l: string) => void) {
  const config = loadEnginesConfig();
  const e = resolveEndpoints(config);
  const status = config.mode === 'local' ? await new LocalEngines(config).status() : null;
  const brokerPid = status?.kafka.pid ?? null;
  const conn = { brokers: e.kafka.brokers, clientId: 'bench-per-message', logger: createLogger('bench', 'warn') };
  const single = chunks(envelopes(events), SEND);
  const layouts: Record<string, { sends: OutgoingMessage[][]; perMessage: number }> = {
    single: { sends: single, perMessage: 1 },
    grouped: { sends: grouped(single, group), perMessage: group },
  };
  const results: Record<string, Side[]> = { single: [], grouped: [] };
  const id = randomUUID().slice(0, 8);
  for (let round = 0; round < rounds; round++)
    for (const [name, layout] of Object.entries(layouts)) {
      const side = await measureSide(
        conn,
        brokerPid,
        `bench_epm_${id}_${round}_${name}`,
        layout.sends,
        events,
        layout.perMessage,
      );
      results[name]!.push(side);
      log(
        `${name} round ${round + 1}: produce ${side.produce.toFixed(2)} + broker ${side.produceBroker.toFixed(2)}, ` +
          `consume ${side.consume.toFixed(2)} + broker ${side.consumeBroker.toFixed(2)} µs/event`,
      );
    }
  /** Each figure's best round (the least disturbed by the rest of the machine). */
  const best = (name: string, k: keyof Side | 'total') =>
    Math.min(...results[name]!.map((s) => (k === 'total' ? total(s) : s[k])));
  return { results, best, brokerKnown: brokerPid !== null };
}

export async function run(ctx: BenchContext): Promise<BenchSection> {
  const group = 50;
  const { best, brokerKnown } = await compare(ctx.scale.events, group, 2, ctx.log);
  const figure = (metric: string, k: keyof Side | 'total'): BenchFigure => ({
    metric,
    value: best('grouped', k),
    unit: 'µs',
    baseline: { name: 'one event per message (as now)', value: best('single', k) },
    ratio: best('grouped', k) / best('single', k),
  });
  const figures = [
    figure(`produce CPU per event, ${group} events per message (client)`, 'produce'),
    figure(`consume + decode CPU per event, ${group} events per message (client)`, 'consume'),
    ...(brokerKnown
      ? [
          figure(`Kafka broker CPU per event while producing, ${group} per message`, 'produceBroker'),
          figure(`Kafka broker CPU per event while consuming, ${group} per message`, 'consumeBroker'),
          figure(`all of the above, ${group} events per message`, 'total'),
        ]
      : []),
  ];
  return {
    name: 'events per Kafka message',
    figures,
    notes: [
      `${ctx.scale.events} collector envelopes (the end-to-end mix) produced through @pullwatch/kafka in sends of ${SEND} ` +
        `(four in flight, acks=all, idempotent, ${PARTITIONS} partitions), then consumed by a group consumer that decodes ` +
        `each message (UTF-8, JSON.parse); one envelope per message as the collector sends them, against JSON arrays of ${group}.`,
      'Best of two alternating rounds each. The difference is what the per-message work (record framing, the ' +
        "client's message objects, the broker's per-record checks) costs per event: the lever of a multi-event envelope, " +
        'measured before the design (positions inside a message, one-event dead letters) is built.',
      ...(brokerKnown ? [] : ['External engines: the broker process is not known, so its CPU is not reported.']),
    ],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [events = 100_000, group = 50, rounds = 2] = process.argv.slice(2).map(Number);
  const { results } = await compare(events, group, rounds, (l) => process.stdout.write(`${l}\n`));
  process.stdout.write(`${JSON.stringify({ events, group, results })}\n`);
  process.exit(0);
}
