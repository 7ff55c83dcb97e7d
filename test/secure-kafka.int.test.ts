import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadAnalyzerConfig, type Analyzer } from '@pullwatch/analyzer';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { createCollector, loadCollectorConfig, type Collector } from '@pullwatch/collector';
import { loadEnginesConfig, repoRoot, resolveEndpoints } from '@pullwatch/engines';
import {
  createProducer,
  ensureTopics,
  KafkaAuthenticationError,
  type KafkaConnection,
  KafkaTlsError,
  readTopic,
} from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from './support/endpoints.ts';
import { freePort } from './support/free-port.ts';
import { SASL_USERS, type SecureBroker, startSecureKafka } from './support/secure-kafka.ts';
import { untilValue } from './support/until.ts';

const until = <T>(probe: () => Promise<T | null>, what: string, ms = 60_000) => untilValue(probe, what, ms, 200);

// Kafka over SASL_SSL (and mTLS) against a real broker of this test's own, with certificates made
// here by openssl and SCRAM users created by Kafka's own storage tool. Every client gets its security
// the way the CLI's commands do: PULLWATCH_KAFKA_* → loadEnginesConfig → resolveEndpoints → KafkaConnection.
const logger = createLogger('secure-kafka-test', 'silent');
const database = uniqueName('secure_kafka');
const topic = uniqueName('secure_kafka');
const TOKEN = 'secure-kafka-test-ingest-token';
const clickhouse = testEndpoints().clickhouse;
const admin = createClickHouse({ ...clickhouse });
let broker: SecureBroker;

type Mechanism = keyof typeof SASL_USERS;

/** The environment a pullwatch service would get (the chart's variables), for one broker listener. */
function secureEnv(mechanism: Mechanism, over: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PULLWATCH_ENGINES: 'external',
    PULLWATCH_KAFKA_BROKERS: broker.saslSsl.join(','),
    PULLWATCH_CLICKHOUSE_URL: clickhouse.url,
    PULLWATCH_CLICKHOUSE_USER: clickhouse.user,
    PULLWATCH_CLICKHOUSE_PASSWORD: clickhouse.password,
    PULLWATCH_KAFKA_SSL: 'true',
    PULLWATCH_KAFKA_SSL_CA_FILE: broker.certs.ca,
    PULLWATCH_KAFKA_SASL_MECHANISM: mechanism,
    PULLWATCH_KAFKA_SASL_USERNAME: SASL_USERS[mechanism].username,
    PULLWATCH_KAFKA_SASL_PASSWORD: SASL_USERS[mechanism].password,
    PULLWATCH_TOPIC: topic,
    PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
    PULLWATCH_TOPIC_PARTITIONS: '2',
    ...over,
  };
}

/** As a service builds its Kafka connection from its environment. */
function connectionFor(env: NodeJS.ProcessEnv, clientId: string): KafkaConnection {
  return { ...resolveEndpoints(loadEnginesConfig(env)).kafka, clientId, logger };
}

async function produceAndRead(conn: KafkaConnection, values: string[]): Promise<string[]> {
  const t = uniqueName('secure_rw');
  await ensureTopics(conn, [{ topic: t, numPartitions: 1 }]);
  const p = await createProducer(conn);
  try {
    await p.send(
      t,
      values.map((value, i) => ({ key: `k${i}`, value })),
    );
  } finally {
    await p.close();
  }
  return (await readTopic(conn, t, { count: values.length })).map((m) => m.value!.toString());
}

beforeAll(async () => {
  broker = await startSecureKafka();
  await migrate(admin, { database, ttlDays: 90 });
});

afterAll(async () => {
  await broker?.stop();
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
});

describe('Kafka over SASL_SSL and mTLS, from the PULLWATCH_KAFKA_* settings', () => {
  it.each(['PLAIN', 'SCRAM-SHA-256'] as const)('produces and consumes with SASL %s over TLS', async (mechanism) => {
    const conn = connectionFor(secureEnv(mechanism), `secure-${mechanism}`);
    expect(conn.security?.sasl?.mechanism).toBe(mechanism);
    expect(await produceAndRead(conn, ['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
  });

  it('produces and consumes with a client certificate (mTLS, no SASL)', async () => {
    const env = secureEnv('PLAIN', { PULLWATCH_KAFKA_BROKERS: broker.mtls.join(',') });
    delete env.PULLWATCH_KAFKA_SASL_MECHANISM;
    delete env.PULLWATCH_KAFKA_SASL_USERNAME;
    delete env.PULLWATCH_KAFKA_SASL_PASSWORD;
    const conn = connectionFor(
      {
        ...env,
        PULLWATCH_KAFKA_SSL_CERT_FILE: broker.certs.clientCert,
        PULLWATCH_KAFKA_SSL_KEY_FILE: broker.certs.clientKey,
      },
      'secure-mtls',
    );
    expect(await produceAndRead(conn, ['x', 'y'])).toEqual(['x', 'y']);
  });

  it(
    'refuses a wrong password, an untrusted certificate and TLS to a plaintext port ' +
      'with errors naming the setting',
    async () => {
      const wrongPassword = connectionFor(
        secureEnv('SCRAM-SHA-512', { PULLWATCH_KAFKA_SASL_PASSWORD: 'not-the-password' }),
        'secure-wrong-password',
      );
      const auth = await ensureTopics(wrongPassword, [{ topic: uniqueName('never'), numPartitions: 1 }]).then(
        () => null,
        (err: unknown) => err,
      );
      expect(auth).toBeInstanceOf(KafkaAuthenticationError);
      expect((auth as KafkaAuthenticationError).setting).toBe('PULLWATCH_KAFKA_SASL_PASSWORD');
      expect((auth as KafkaAuthenticationError).reason).toBe('SASL_AUTHENTICATION_FAILED');
      expect((auth as Error).message).toMatch(
        /^Kafka SASL authentication failed; check PULLWATCH_KAFKA_SASL_USERNAME and PULLWATCH_KAFKA_SASL_PASSWORD: /,
      );

      const untrusted = connectionFor(
        secureEnv('SCRAM-SHA-512', { PULLWATCH_KAFKA_SSL_CA_FILE: broker.certs.otherCa }),
        'secure-untrusted',
      );
      const tls = await ensureTopics(untrusted, [{ topic: uniqueName('never'), numPartitions: 1 }]).then(
        () => null,
        (err: unknown) => err,
      );
      expect(tls).toBeInstanceOf(KafkaTlsError);
      expect((tls as KafkaTlsError).setting).toBe('PULLWATCH_KAFKA_SSL_CA_FILE');
      expect((tls as KafkaTlsError).reason).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      expect((tls as Error).message).toMatch(
        /^Kafka TLS: the broker's certificate is not trusted .*PULLWATCH_KAFKA_SSL_CA_FILE/,
      );

      // TLS to a plaintext listener.
      const plaintext = connectionFor(
        secureEnv('SCRAM-SHA-512', { PULLWATCH_KAFKA_BROKERS: broker.plaintext.join(',') }),
        'secure-to-plaintext',
      );
      const handshake = await ensureTopics(plaintext, [{ topic: uniqueName('never'), numPartitions: 1 }]).then(
        () => null,
        (err: unknown) => err,
      );
      expect(handshake).toBeInstanceOf(KafkaTlsError);
      expect([(handshake as KafkaTlsError).setting, (handshake as KafkaTlsError).reason]).toEqual([
        'PULLWATCH_KAFKA_SSL',
        'TLS_HANDSHAKE_FAILED',
      ]);
    },
  );

  it('`pullwatch engines status` probes the secured cluster with the same settings', async () => {
    const status = (env: NodeJS.ProcessEnv) => {
      const r = spawnSync(
        process.execPath,
        [join(repoRoot, 'apps/cli/bin/pullwatch.js'), 'engines', 'status', '--json'],
        { env: { ...process.env, ...env }, encoding: 'utf8', cwd: repoRoot, timeout: 60_000 },
      );
      return { code: r.status, kafka: (JSON.parse(r.stdout) as { kafka: { up: boolean; brokers: string[] } }).kafka };
    };
    expect(status(secureEnv('SCRAM-SHA-512'))).toEqual({ code: 0, kafka: { up: true, brokers: broker.saslSsl } });
    expect(status(secureEnv('SCRAM-SHA-512', { PULLWATCH_KAFKA_SASL_PASSWORD: 'not-the-password' }))).toEqual({
      code: 3,
      kafka: { up: false, brokers: broker.saslSsl },
    });
  });
});

describe('the pipeline over SASL_SSL with SCRAM-SHA-512', () => {
  let analyzer: Analyzer;
  let collector: Collector | null = null;

  const event = (i: number) => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `e${i}`, namespace: 'shop', uid: `uid-${i}`, resourceVersion: '1' },
    involvedObject: { kind: 'Pod', name: `web-${i % 7}`, namespace: 'shop' },
    reason: 'Failed',
    message: `Failed to pull image "registry.example.com/shop/web:${i}": manifest unknown`,
    count: 1,
    lastTimestamp: new Date(Date.now() - 60_000).toISOString(),
  });
  const post = (from: number, n: number) =>
    fetch(`${collector!.ingestUrl}/v1/k8s-events?cluster=eu-1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(Array.from({ length: n }, (_, i) => event(from + i))),
    });
  const readyz = async () => {
    const r = await fetch(`${collector!.ingestUrl}/readyz`);
    return { status: r.status, body: (await r.json()) as { error?: { message: string } } };
  };
  const startCollector = async (env: NodeJS.ProcessEnv) => {
    const c = createCollector(
      loadCollectorConfig({ ...env, PULLWATCH_INGEST_PORT: '0', PULLWATCH_INGEST_TOKEN: TOKEN }),
      { logger, metrics: createMetricsRegistry('secure-collector'), kafka: connectionFor(env, 'secure-collector') },
    );
    await c.start();
    collector = c;
  };
  const scalar = async (sql: string) =>
    Number(((await (await admin.query({ query: sql, format: 'JSONEachRow' })).json()) as { n: string }[])[0]!.n);

  beforeAll(async () => {
    const env = secureEnv('SCRAM-SHA-512');
    const kafka = connectionFor(env, 'secure-analyzer');
    await ensureTopics(kafka, [
      { topic, numPartitions: 2 },
      { topic: `${topic}_dlq`, numPartitions: 1 },
    ]);
    analyzer = createAnalyzer(
      loadAnalyzerConfig({ ...env, PULLWATCH_ANALYZER_GROUP: `${topic}_g`, PULLWATCH_CLICKHOUSE_DATABASE: database }),
      {
        logger,
        metrics: createMetricsRegistry('secure-analyzer'),
        kafka,
        clickhouse: createClickHouse({ ...resolveEndpoints(loadEnginesConfig(env)).clickhouse }),
      },
    );
    await analyzer.start();
  });
  afterAll(async () => {
    await collector?.stop();
    await analyzer?.stop();
  });

  it('an analyzer with a wrong password fails to start, naming the setting', async () => {
    const env = secureEnv('SCRAM-SHA-512', { PULLWATCH_KAFKA_SASL_PASSWORD: 'not-the-password' });
    const wrong = createAnalyzer(
      loadAnalyzerConfig({
        ...env,
        PULLWATCH_ANALYZER_GROUP: `${topic}_wrong`,
        PULLWATCH_CLICKHOUSE_DATABASE: database,
      }),
      {
        logger,
        metrics: createMetricsRegistry('secure-analyzer-wrong'),
        kafka: connectionFor(env, 'secure-analyzer-wrong'),
        clickhouse: createClickHouse({ ...clickhouse }),
      },
    );
    const err = await wrong.start().then(
      () => null,
      (e: unknown) => e,
    );
    await wrong.stop().catch(() => undefined);
    expect(err).toBeInstanceOf(KafkaAuthenticationError);
    expect((err as KafkaAuthenticationError).setting).toBe('PULLWATCH_KAFKA_SASL_PASSWORD');
  });

  it('a collector with a wrong password or an untrusted CA stays not ready and refuses events with 503', async () => {
    for (const [over, setting] of [
      [{ PULLWATCH_KAFKA_SASL_PASSWORD: 'not-the-password' }, 'PULLWATCH_KAFKA_SASL_PASSWORD'],
      [{ PULLWATCH_KAFKA_SSL_CA_FILE: broker.certs.otherCa }, 'PULLWATCH_KAFKA_SSL_CA_FILE'],
    ] as const) {
      await startCollector(secureEnv('SCRAM-SHA-512', over));
      const r = await readyz();
      expect(r.status).toBe(503);
      expect(r.body.error?.message).toContain(setting);
      // Refused whole: the sender keeps the events and sends them again later.
      for (const from of [0, 10]) {
        const res = await post(from, 10);
        expect(res.status).toBe(503);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // Still not ready after its retries in the background.
      expect((await readyz()).status).toBe(503);
      await collector!.stop();
      collector = null;
    }
    expect(await topicTotal()).toBe(0);
  });

  it('restarted with the right settings, it stores the refused events and all later ones exactly once', async () => {
    await startCollector(secureEnv('SCRAM-SHA-512'));
    expect((await readyz()).status).toBe(200);
    // The refused requests again (as a sender honouring 503 does), then new ones.
    for (const from of [0, 10]) expect((await post(from, 10)).status).toBe(200);
    for (let from = 100; from < 400; from += 50) expect((await post(from, 50)).status).toBe(200);
    const total = 20 + 300;
    expect(await topicTotal()).toBe(total);
    await until(
      async () => ((await scalar(`SELECT count() AS n FROM ${database}.raw_events`)) >= total ? true : null),
      `${total} rows in ${database}.raw_events`,
    );
    expect(await scalar(`SELECT count() AS n FROM ${database}.raw_events`)).toBe(total);
    expect(await scalar(`SELECT uniqExact(event_uid) AS n FROM ${database}.raw_events`)).toBe(total);
    expect(await scalar(`SELECT count() AS n FROM ${database}.pull_events WHERE outcome = 'failure'`)).toBe(total);
    const uids = (
      (await (
        await admin.query({ query: `SELECT event_uid FROM ${database}.raw_events`, format: 'JSONEachRow' })
      ).json()) as { event_uid: string }[]
    ).map((r) => r.event_uid);
    const expected = [...Array.from({ length: 20 }, (_, i) => i), ...Array.from({ length: 300 }, (_, i) => 100 + i)];
    expect(uids.sort()).toEqual(expected.map((i) => `uid-${i}`).sort());
  });
});

describe('the `pullwatch collector` command over SASL_SSL', () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  /** The command as a process of its own, with its log (stderr) collected. */
  function collectorProcess(env: NodeJS.ProcessEnv, port: number) {
    const child = spawn(process.execPath, [join(repoRoot, 'apps/cli/bin/pullwatch.js'), 'collector'], {
      env: {
        ...process.env,
        ...env,
        PULLWATCH_TOPIC: `${topic}_cli`,
        PULLWATCH_INGEST_PORT: String(port),
        PULLWATCH_INGEST_TOKEN: TOKEN,
        PULLWATCH_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, log: () => log, exited };
  }
  const readyz = async (port: number) => {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      return { status: r.status, body: (await r.json()) as { error?: { message: string } } };
    } catch {
      return null; // not listening yet
    }
  };

  it(
    'logs the setting to fix and stays not ready with a wrong password; ' + 'restarted with the right one it is ready',
    async () => {
      const port = await freePort();
      const wrong = collectorProcess(
        secureEnv('SCRAM-SHA-512', { PULLWATCH_KAFKA_SASL_PASSWORD: 'not-the-password' }),
        port,
      );
      await until(
        async () => (wrong.log().includes('"setting":"PULLWATCH_KAFKA_SASL_PASSWORD"') ? true : null),
        'the collector logging the setting',
      );
      const notReady = await until(() => readyz(port), `the collector listening on ${port}`);
      expect(notReady.status).toBe(503);
      expect(notReady.body.error?.message).toMatch(
        new RegExp(
          '^not connected to Kafka: Kafka SASL authentication failed; ' +
            'check PULLWATCH_KAFKA_SASL_USERNAME and PULLWATCH_KAFKA_SASL_PASSWORD: ',
        ),
      );
      wrong.child.kill('SIGTERM');
      expect(await wrong.exited).toBe(0);

      const right = collectorProcess(secureEnv('SCRAM-SHA-512'), port);
      const ready = await until(async () => {
        const r = await readyz(port);
        return r?.status === 200 ? r : null;
      }, 'the restarted collector ready');
      expect(ready.body).toEqual({ status: 'ready' });
      expect(right.log()).not.toContain('cannot connect to Kafka');
      right.child.kill('SIGTERM');
      expect(await right.exited).toBe(0);
    },
  );
});

/** Everything written to the events topic so far, read over SASL_SSL. */
async function topicTotal(): Promise<number> {
  return (await readTopic(connectionFor(secureEnv('SCRAM-SHA-512'), 'secure-reader'), topic)).length;
}
