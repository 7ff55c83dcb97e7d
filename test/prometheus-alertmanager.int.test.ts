import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Collector } from '@pullwatch/collector';
import { type Listener, startListener } from '@pullwatch/http-listener';
import { createProducer } from '@pullwatch/kafka';
import type { QueryApi } from '@pullwatch/query-api';
import { freePort } from './support/free-port.ts';
import { ServiceStack, type StackAnalyzer } from './support/service-stack.ts';
import { untilValue } from './support/until.ts';

// The real Prometheus and Alertmanager (built from the Go module proxy by scripts/prom-tools.sh, cached
// outside the clone) against the real collector, analyzer and query API on the real Kafka and ClickHouse:
// Prometheus scrapes the three /metrics and evaluates the shipped PrometheusRule, and pullwatch's own
// alerting posts into Alertmanager's API v2. Everything listens on loopback ports picked free.

const ROOT = new URL('..', import.meta.url).pathname;
const CRD = parse(readFileSync(join(ROOT, 'infra/prometheus/pullwatch-prometheusrule.yaml'), 'utf8')) as {
  spec: { groups: { name: string; rules: { alert: string; expr: string; for: string }[] }[] };
};
/** Every `for` of the shipped rules becomes this, so a test sees an alert fire in seconds, not minutes. */
const FOR = '4s';

const INGEST_TOKEN = 'prom-am-ingest-token';
const API_TOKEN = 'prom-am-api-token';
const stack = new ServiceStack('promam', {
  env: {
    PULLWATCH_TOPIC_PARTITIONS: '1',
    PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
    PULLWATCH_API_TOKENS: API_TOKEN,
    PULLWATCH_ALERT_INTERVAL_SECONDS: '1',
  },
});
const { topic, kafka } = stack;
const admin = ServiceStack.clickhouse();
const work = mkdtempSync(join(tmpdir(), 'pw-prom-am-'));

let collector: Collector;
let analyzer: StackAnalyzer;
let queryApi: QueryApi;
/** Alertmanager's own webhook receiver: what Alertmanager notifies, as it would page someone. */
let receiver: Listener;
const notified: { status: string; alerts: { status: string; labels: Record<string, string>; endsAt: string }[] }[] = [];
const children: { name: string; proc: ChildProcess; log: string }[] = [];
let prometheusUrl = '';
let alertmanagerUrl = '';

/**
 * Finds Prometheus and Alertmanager where scripts/prom-tools.sh built them (.ci/run builds them first); the
 * test never builds them itself, and fails with the script's word on what is missing.
 */
async function promTools(): Promise<{ prometheus: string; alertmanager: string }> {
  const found = await promisify(execFile)('bash', [join(ROOT, 'scripts/prom-tools.sh'), '--check'], {
    encoding: 'utf8',
  }).catch((err: { stderr?: string; message: string }) => {
    throw new Error(err.stderr?.trim() || err.message);
  });
  const dir = found.stdout.trim();
  return { prometheus: join(dir, 'bin/prometheus'), alertmanager: join(dir, 'bin/alertmanager') };
}

function start(name: string, bin: string, args: string[]): void {
  const log = join(work, `${name}.log`);
  const out = openSync(log, 'a');
  const proc = spawn(bin, args, { stdio: ['ignore', out, out] });
  children.push({ name, proc, log });
}

const tail = (name: string) => {
  const c = children.find((x) => x.name === name);
  return c ? readFileSync(c.log, 'utf8').split('\n').slice(-15).join('\n') : '';
};

async function ready(name: string, url: string): Promise<void> {
  await untilValue(
    async () => {
      const c = children.find((x) => x.name === name)!;
      if (c.proc.exitCode !== null) throw new Error(`${name} exited (${c.proc.exitCode}):\n${tail(name)}`);
      return (await fetch(`${url}/-/ready`).catch(() => null))?.ok;
    },
    `${name} to be ready`,
    60_000,
  );
}

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers });
  expect(res.status, url).toBe(200);
  return (await res.json()) as T;
}

interface PromAlert {
  labels: Record<string, string>;
  state: string;
  activeAt: string;
}
const promQuery = async (query: string) =>
  (
    await getJson<{ data: { result: { metric: Record<string, string>; value: [number, string] }[] } }>(
      `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`,
    )
  ).data.result;
const promAlerts = async () =>
  (await getJson<{ data: { alerts: PromAlert[] } }>(`${prometheusUrl}/api/v1/alerts`)).data.alerts;

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  status: { state: string };
}
const amAlerts = () => getJson<AmAlert[]>(`${alertmanagerUrl}/api/v2/alerts`);

const post = (body: unknown) =>
  fetch(`${collector.ingestUrl}/v1/k8s-events?cluster=prom-am-1`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
  });
const IMAGE = 'docker.io/library/nginx:1.27';
const event = (name: string, reason: string, message: string, type = 'Warning') => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: 'shop', uid: `uid-${name}` },
  involvedObject: { kind: 'Pod', name: `pod-${name}`, namespace: 'shop', fieldPath: 'spec.containers{web}' },
  reason,
  message,
  type,
  count: 1,
  lastTimestamp: new Date().toISOString(),
  source: { host: 'node-a' },
});
const failed = (name: string) =>
  event(
    name,
    'Failed',
    `Failed to pull image "${IMAGE}": rpc error: code = Unknown desc = failed to pull and unpack image ` +
      `"${IMAGE}": 429 Too Many Requests - toomanyrequests: You have reached your pull rate limit`,
  );
const pulled = (name: string) =>
  event(
    name,
    'Pulled',
    `Successfully pulled image "${IMAGE}" in 1.2s (1.2s including waiting). Image size: 123 bytes.`,
    'Normal',
  );

beforeAll(async () => {
  const tools = await promTools();
  await stack.migrate(admin);
  const rules = join(work, 'pullwatch-alert-rules.yaml');
  // pullwatch's own rule: docker.io failing in more than half of at least 2 pulls in the last hour.
  writeFileSync(
    rules,
    stringify({
      rules: [
        {
          name: 'RegistryFailing',
          kind: 'registry_failure_rate',
          threshold: 0.5,
          window: '1h',
          minAttempts: 2,
          severity: 'critical',
        },
      ],
    }),
  );

  receiver = await startListener(
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        notified.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200).end();
      });
    },
    '127.0.0.1',
    0,
  );
  const amPort = await freePort();
  alertmanagerUrl = `http://127.0.0.1:${amPort}`;
  writeFileSync(
    join(work, 'alertmanager.yml'),
    stringify({
      route: {
        receiver: 'test',
        group_by: ['alertname'],
        group_wait: '1s',
        group_interval: '1s',
        repeat_interval: '1h',
      },
      receivers: [{ name: 'test', webhook_configs: [{ url: `${receiver.url}/notify`, send_resolved: true }] }],
    }),
  );
  start('alertmanager', tools.alertmanager, [
    `--config.file=${join(work, 'alertmanager.yml')}`,
    `--storage.path=${join(work, 'alertmanager')}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    // No gossip with other Alertmanagers (it would bind 0.0.0.0:9094).
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);

  analyzer = await stack.analyzer({ http: true });
  collector = await stack.collector();
  queryApi = await stack.queryApi({
    env: { PULLWATCH_ALERT_RULES: rules, PULLWATCH_ALERT_WEBHOOKS: `alertmanager-v2=${alertmanagerUrl}` },
  });

  // The shipped PrometheusRule's groups as a Prometheus rule file: the expressions as they are, `for`
  // shortened, evaluated every second.
  writeFileSync(
    join(work, 'pullwatch-rules.yaml'),
    stringify({
      groups: CRD.spec.groups.map((g) => ({ ...g, interval: '1s', rules: g.rules.map((r) => ({ ...r, for: FOR })) })),
    }),
  );
  const hostPort = (url: string) => new URL(url).host;
  const promPort = await freePort();
  prometheusUrl = `http://127.0.0.1:${promPort}`;
  writeFileSync(
    join(work, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '2s', scrape_timeout: '2s', evaluation_interval: '1s' },
      rule_files: [join(work, 'pullwatch-rules.yaml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      scrape_configs: [
        { job_name: 'collector', static_configs: [{ targets: [hostPort(collector.ingestUrl)] }] },
        { job_name: 'analyzer', static_configs: [{ targets: [hostPort(analyzer.metricsUrl!)] }] },
        { job_name: 'query-api', static_configs: [{ targets: [hostPort(queryApi.url)] }] },
      ],
    }),
  );
  start('prometheus', tools.prometheus, [
    `--config.file=${join(work, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(work, 'prometheus')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ]);
  await ready('alertmanager', alertmanagerUrl);
  await ready('prometheus', prometheusUrl);
}, 120_000);

afterAll(async () => {
  for (const c of children) {
    if (c.proc.exitCode === null) {
      const exited = new Promise((r) => c.proc.once('exit', r));
      c.proc.kill('SIGTERM');
      await exited;
    }
  }
  await stack.stop();
  await receiver?.close();
  await admin.close();
  rmSync(work, { recursive: true, force: true });
});

describe('real Prometheus on the services’ /metrics, with the shipped PrometheusRule', () => {
  it('scrapes the collector, analyzer and query API, and loads and evaluates every rule without an error', async () => {
    const targets = await untilValue(async () => {
      const t = (
        await getJson<{ data: { activeTargets: { labels: { job: string }; health: string }[] } }>(
          `${prometheusUrl}/api/v1/targets`,
        )
      ).data.activeTargets;
      return t.length === 3 && t.every((x) => x.health === 'up') ? t : null;
    }, 'all three targets up');
    expect(targets.map((t) => t.labels.job).sort()).toEqual(['analyzer', 'collector', 'query-api']);

    interface Rule {
      name: string;
      health: string;
      lastError?: string;
      lastEvaluation: string;
    }
    const groups = await untilValue(async () => {
      const g = (
        await getJson<{ data: { groups: { name: string; rules: Rule[] }[] } }>(`${prometheusUrl}/api/v1/rules`)
      ).data.groups;
      return g.every((x) => x.rules.every((r) => !r.lastEvaluation.startsWith('0001'))) ? g : null;
    }, 'every rule evaluated once');
    // Prometheus lists the groups in no set order; the rules within a group in file order.
    const byName = (a: [string, string[]], b: [string, string[]]) => a[0].localeCompare(b[0]);
    expect(groups.map((g): [string, string[]] => [g.name, g.rules.map((r) => r.name)]).sort(byName)).toEqual(
      CRD.spec.groups.map((g): [string, string[]] => [g.name, g.rules.map((r) => r.alert)]).sort(byName),
    );
    for (const r of groups.flatMap((g) => g.rules))
      expect([r.name, r.health, r.lastError ?? '']).toEqual([r.name, 'ok', '']);
  });

  it('pullwatch’s own alert fires into the real Alertmanager (API v2), which notifies, and resolves there', async () => {
    expect((await post([failed('f1'), failed('f2')])).status).toBe(200);
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const mine = (a: { labels: Record<string, string> }) => a.labels.alertname === 'RegistryFailing';
    const [am] = await untilValue(async () => {
      const a = (await amAlerts()).filter(mine);
      return a.length ? a : null;
    }, 'RegistryFailing in Alertmanager');
    // What GET /v1/alerts says of the same alert.
    const { alerts: own } = await getJson<{ alerts: { startsAt: string; summary: string; status: string }[] }>(
      `${queryApi.url}/v1/alerts`,
      auth,
    );
    expect(own).toHaveLength(1);
    expect(own[0]!.status).toBe('firing');
    expect(am!.labels).toEqual({ alertname: 'RegistryFailing', severity: 'critical', registry: 'docker.io' });
    expect(am!.annotations).toEqual({ summary: own[0]!.summary, value: '1' });
    expect(own[0]!.summary).toBe('docker.io: 100 % of 2 pulls failed in the last 60 min');
    expect(Date.parse(am!.startsAt)).toBe(Date.parse(own[0]!.startsAt));
    expect(am!.status.state).toBe('active');
    // Valid for four resend intervals (a minute each) from the send.
    const validFor = Date.parse(am!.endsAt) - Date.parse(am!.startsAt);
    expect(validFor).toBeGreaterThanOrEqual(240_000);
    expect(validFor).toBeLessThan(250_000);
    expect(am!.generatorURL).toBe(queryApi.url);
    // Alertmanager notifies its receiver, as it would page someone.
    await untilValue(
      async () => notified.some((n) => n.status === 'firing' && n.alerts.some(mine)),
      'Alertmanager to notify RegistryFailing firing',
    );

    // Three successful pulls: 2 of 5 failed, under the threshold: the alert resolves, there too.
    expect((await post([pulled('s1'), pulled('s2'), pulled('s3')])).status).toBe(200);
    const resolved = await untilValue(
      async () => notified.flatMap((n) => n.alerts).find((a) => mine(a) && a.status === 'resolved'),
      'Alertmanager to notify RegistryFailing resolved',
    );
    expect((await amAlerts()).filter(mine)).toEqual([]);
    const after = await getJson<{ alerts: { status: string; endsAt: string }[] }>(`${queryApi.url}/v1/alerts`, auth);
    expect(after.alerts.map((a) => a.status)).toEqual(['resolved']);
    // The same instant: Alertmanager's webhook writes Go's RFC 3339 with trailing zeros trimmed (.43Z for .430Z).
    expect(Date.parse(resolved.endsAt)).toBe(Date.parse(after.alerts[0]!.endsAt));
    expect(resolved.labels).toEqual({ alertname: 'RegistryFailing', severity: 'critical', registry: 'docker.io' });
  });

  it('a message the analyzer cannot decode fires PullwatchDeadLettering with its reason', async () => {
    const dead = (a: { labels: Record<string, string> }) => a.labels.alertname === 'PullwatchDeadLettering';
    expect((await promAlerts()).filter(dead)).toEqual([]);
    // increase() needs a sample from before the dead letter: Prometheus must have seen the counter at 0.
    await untilValue(
      async () => (await promQuery('pullwatch_analyzer_dead_lettered_total{reason="decode"} == 0')).length === 1,
      'Prometheus to scrape the decode counter at 0',
    );
    const producer = await createProducer(kafka);
    try {
      await producer.send(topic, [{ key: 'prom-am-1/shop/poison', value: '{"not": json' }]);
    } finally {
      await producer.close();
    }
    const firing = await untilValue(async () => {
      const a = (await promAlerts()).filter((x) => dead(x) && x.state === 'firing');
      return a.length ? a : null;
    }, 'PullwatchDeadLettering firing in Prometheus');
    // One alert, for the one reason that has dead letters (every reason's counter starts at 0).
    expect(firing.map((a) => a.labels)).toEqual([
      { alertname: 'PullwatchDeadLettering', severity: 'warning', reason: 'decode' },
    ]);
    const dlq = await promQuery('pullwatch_analyzer_dead_lettered_total');
    expect(Object.fromEntries(dlq.map((r) => [r.metric.reason, r.value[1]]))).toEqual({
      decode: '1',
      schema: '0',
      processing: '0',
      clickhouse_rejected: '0',
    });
  });

  it('stopping the analyzer fires PullwatchAnalyzerDown in Prometheus, which sends it to Alertmanager', async () => {
    const down = (a: { labels: Record<string, string> }) => a.labels.alertname === 'PullwatchAnalyzerDown';
    // While the analyzer serves its metrics the alert is inactive, and the image-pull alerts see real data.
    const before = await promAlerts();
    expect(before.filter(down)).toEqual([]);
    expect(
      before.filter((a) => a.labels.alertname === 'PullwatchRegistryFailureRateHigh').map((a) => a.labels.registry),
    ).toEqual(['docker.io']);

    await analyzer.stop();
    const firing = await untilValue(
      async () => (await promAlerts()).find((a) => down(a) && a.state === 'firing'),
      'PullwatchAnalyzerDown firing in Prometheus',
    );
    expect(firing.labels).toEqual({ alertname: 'PullwatchAnalyzerDown', severity: 'critical' });
    const [am] = await untilValue(async () => {
      const a = (await amAlerts()).filter(down);
      return a.length ? a : null;
    }, 'PullwatchAnalyzerDown in Alertmanager');
    expect(am!.labels).toEqual({ alertname: 'PullwatchAnalyzerDown', severity: 'critical' });
    expect(am!.annotations.runbook_url).toBe('infra/prometheus/README.md#pullwatchanalyzerdown');
  });
});
