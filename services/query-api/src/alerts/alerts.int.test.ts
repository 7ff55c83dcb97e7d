import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../../../../test/support/endpoints.ts';
import { loadQueryApiConfig } from '../config.ts';
import { createQueryApi, type QueryApi } from '../query-api.ts';

const endpoints = testEndpoints();
const database = uniqueName('alerts_it');
const admin = createClickHouse({ ...endpoints.clickhouse });
let clock = new Date('2026-11-24T12:00:00Z');
const at = (d: Date, minAgo: number) =>
  new Date(d.getTime() - minAgo * 60_000).toISOString().replace('T', ' ').replace('Z', '');
const received: { path: string; body: Record<string, unknown> }[] = [];
let receiver: Server;
let api: QueryApi;

function pulls(
  d: Date,
  registry: string,
  outcome: 'failure' | 'success',
  occurrences: number,
  minAgo: number,
  uid: string,
) {
  return {
    event_time: at(d, minAgo),
    first_time: at(d, minAgo),
    received_at: at(d, minAgo),
    cluster: 'eu',
    namespace: 'shop',
    pod: `p-${uid}`,
    container: 'c',
    node: 'n',
    outcome,
    event_kind: outcome === 'failure' ? 'failed_pull' : 'pulled',
    occurrences,
    image: `${registry}/a:1`,
    registry,
    provider: 'quay',
    repository: 'a',
    tag: '1',
    digest: '',
    tag_kind: 'pinned',
    cause: outcome === 'failure' ? 'registry_unavailable' : '',
    subcause: '',
    attributed: 0,
    retryable: 1,
    hint: '',
    message: '',
    pull_duration_ms: 0,
    image_size_bytes: 0,
    image_pull_policy: '',
    has_pull_secrets: -1,
    event_uid: uid,
    event_count: occurrences,
    kafka_partition: 0,
    kafka_offset: 0,
  };
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  await migrate(admin, { database, ttlDays: 90 });
  await admin.insert({
    table: `${database}.pull_events`,
    format: 'JSONEachRow',
    clickhouse_settings: { async_insert: 0 },
    values: [pulls(clock, 'quay.io', 'failure', 30, 5, 'a'), pulls(clock, 'quay.io', 'success', 5, 5, 'b')],
  });
  api = createQueryApi(
    loadQueryApiConfig({
      PULLWATCH_API_PORT: '0',
      PULLWATCH_API_TOKENS: 't',
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_ALERT_WEBHOOKS: `generic=${hook}/generic,alertmanager=${hook}/am,slack=${hook}/slack`,
      PULLWATCH_ALERT_INTERVAL_SECONDS: '3600',
    }),
    {
      logger: createLogger('alerts-test', 'silent'),
      metrics: createMetricsRegistry('alerts-test'),
      clickhouse: createClickHouse({ ...endpoints.clickhouse }),
      now: () => clock,
    },
  );
  await api.start();
});

afterAll(async () => {
  await api.stop();
  receiver.close();
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
});

describe('alerting against real ClickHouse data and a real webhook receiver', () => {
  it('fires once in all three formats, stays quiet while firing, then resolves', async () => {
    await api.alerter.evaluate();
    expect(received.map((r) => r.path).sort()).toEqual(['/am', '/generic', '/slack']);
    const am = received.find((r) => r.path === '/am')!.body as {
      version: string;
      status: string;
      alerts: { status: string; labels: Record<string, string>; endsAt: string }[];
    };
    expect(am).toMatchObject({ version: '4', status: 'firing' });
    expect(am.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { alertname: 'RegistryFailureRateHigh', registry: 'quay.io', severity: 'critical' },
    });
    expect((received.find((r) => r.path === '/slack')!.body as { text: string }).text).toMatch(
      /FIRING \*RegistryFailureRateHigh\* — quay\.io: 86 %/,
    );
    expect(received.find((r) => r.path === '/generic')!.body).toMatchObject({
      alerts: [{ status: 'firing', rule: 'RegistryFailureRateHigh', labels: { registry: 'quay.io' } }],
    });

    const res = await fetch(`${api.url}/v1/alerts?status=firing`, { headers: { authorization: 'Bearer t' } });
    expect(((await res.json()) as { alerts: { rule: string }[] }).alerts.map((a) => a.rule)).toEqual([
      'RegistryFailureRateHigh',
    ]);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/pullwatch_alert_firing\{rule="RegistryFailureRateHigh"[^}]*\} 1/);
    expect(metrics).toMatch(/pullwatch_registry_failure_rate\{registry="quay.io"[^}]*\} 0\.857/);

    received.length = 0;
    clock = new Date(clock.getTime() + 60_000);
    await api.alerter.evaluate();
    expect(received).toEqual([]); // still firing: no new notification

    // The registry recovers: the failures leave the 15-minute window and pulls succeed.
    clock = new Date(clock.getTime() + 20 * 60_000);
    await admin.insert({
      table: `${database}.pull_events`,
      format: 'JSONEachRow',
      clickhouse_settings: { async_insert: 0 },
      values: [pulls(clock, 'quay.io', 'success', 40, 1, 'c')],
    });
    await api.alerter.evaluate();
    expect(received.map((r) => r.path).sort()).toEqual(['/am', '/generic', '/slack']);
    expect(received.find((r) => r.path === '/am')!.body).toMatchObject({
      status: 'resolved',
      alerts: [{ status: 'resolved' }],
    });
    expect((received.find((r) => r.path === '/slack')!.body as { text: string }).text).toMatch(/RESOLVED/);
    const after = await fetch(`${api.url}/v1/alerts`, { headers: { authorization: 'Bearer t' } });
    expect(((await after.json()) as { alerts: { status: string; endsAt: string | null }[] }).alerts).toMatchObject([
      { status: 'resolved', endsAt: clock.toISOString() },
    ]);
  });
});

describe('webhook delivery when receivers fail, and across a restart', () => {
  const FIRING_AT = new Date('2026-11-24T12:00:00Z'); // 30 failures, 5 successes in the window: fires at once
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  /** A receiver answering with the given statuses in turn (then 200), recording every request. */
  async function receiverWith(statuses: number[]) {
    const got: { status: number; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const status = statuses[got.length] ?? 200;
        got.push({ status, body });
        res.writeHead(status).end();
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got, server };
  }

  function apiWith(webhooks: string) {
    const warnings: { msg: string; webhook?: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const instance = createQueryApi(
      loadQueryApiConfig({
        PULLWATCH_API_PORT: '0',
        PULLWATCH_API_TOKENS: 't',
        PULLWATCH_CLICKHOUSE_DATABASE: database,
        PULLWATCH_ALERT_WEBHOOKS: webhooks,
        PULLWATCH_ALERT_INTERVAL_SECONDS: '3600',
      }),
      {
        logger,
        metrics: createMetricsRegistry('alerts-webhooks'),
        clickhouse: createClickHouse({ ...endpoints.clickhouse }),
        now: () => FIRING_AT,
      },
    );
    return { instance, warnings };
  }

  it('retries a receiver answering 500 until it accepts, sending the same body each time', async () => {
    const hook = await receiverWith([500, 500]);
    const { instance, warnings } = apiWith(`generic=${hook.url}/generic`);
    try {
      await instance.alerter.evaluate();
      expect(hook.got.map((g) => g.status)).toEqual([500, 500, 200]);
      expect(new Set(hook.got.map((g) => g.body)).size).toBe(1);
      expect(JSON.parse(hook.got[0]!.body)).toMatchObject({
        alerts: [{ status: 'firing', rule: 'RegistryFailureRateHigh', labels: { registry: 'quay.io' } }],
      });
      expect(warnings).toEqual([]);
    } finally {
      await instance.stop();
    }
  });

  it(
    'gives up on a receiver that keeps failing or is down after three attempts, logs it, and keeps the alert ' +
      'firing',
    async () => {
      const failing = await receiverWith([503, 503, 503, 503]);
      const down = await receiverWith([]);
      await new Promise((r) => down.server.close(r)); // nothing listens there any more
      // A Slack incoming webhook's path is its credential: the logs name only the scheme and host.
      const secret = '/services/T0AAAAAAA/B0BBBBBBB/s3cr3tS3cr3tS3cr3tS3cr3t';
      const { instance, warnings } = apiWith(`generic=${failing.url}/x?token=t0p,slack=${down.url}${secret}`);
      try {
        await instance.alerter.evaluate();
        expect(failing.got.map((g) => g.status)).toEqual([503, 503, 503]);
        expect(warnings.map((w) => [w.msg, w.webhook?.replace(/: .*$/, '')]).sort()).toEqual([
          ['alert webhook failed after retries', `generic ${failing.url}`],
          ['alert webhook failed after retries', `slack ${down.url}`],
        ]);
        expect(warnings.find((w) => w.webhook?.startsWith('generic'))!.webhook).toBe(
          `generic ${failing.url}: HTTP 503`,
        );
        const logged = JSON.stringify(warnings);
        expect(logged).not.toContain('s3cr3t');
        expect(logged).not.toContain('t0p');
        expect(instance.alerter.list().map((a) => [a.rule, a.status])).toEqual([['RegistryFailureRateHigh', 'firing']]);
      } finally {
        await instance.stop();
      }
    },
  );

  it(
    'sends a firing alert again after a restart (alert state lives in memory), with the same Alertmanager ' +
      'fingerprint',
    async () => {
      const hook = await receiverWith([]);
      const first = apiWith(`alertmanager=${hook.url}/am`);
      await first.instance.alerter.evaluate();
      await first.instance.alerter.evaluate(); // still firing: not sent again while running
      await first.instance.stop();
      const second = apiWith(`alertmanager=${hook.url}/am`);
      try {
        await second.instance.alerter.evaluate();
        const sent = hook.got.map(
          (g) =>
            JSON.parse(g.body) as {
              status: string;
              alerts: { status: string; fingerprint: string; startsAt: string }[];
            },
        );
        // Documented (services/query-api/README.md): notifications are at least once; receivers dedupe by fingerprint.
        expect(sent.map((b) => [b.status, b.alerts.length])).toEqual([
          ['firing', 1],
          ['firing', 1],
        ]);
        expect(sent[1]!.alerts[0]!.fingerprint).toBe(sent[0]!.alerts[0]!.fingerprint);
        expect(sent[1]!.alerts[0]!.startsAt).toBe(FIRING_AT.toISOString());
      } finally {
        await second.instance.stop();
      }
    },
  );
});
