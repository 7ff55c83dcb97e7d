import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type ClickHouseClient, createClickHouse, migrate } from '@pullwatch/clickhouse';
import { startListener } from '@pullwatch/http-listener';
import { createProducer } from '@pullwatch/kafka';
import type { Collector } from '@pullwatch/collector';
import type { QueryApi } from '@pullwatch/query-api';
import { FakeApiServer } from '../services/collector/test/fake-apiserver.ts';
import { type ProfiledClickHouse, READ_ONLY_DATABASE, startProfiledClickHouse } from './support/readonly-clickhouse.ts';
import { ServiceStack } from './support/service-stack.ts';
import { untilValue as until } from './support/until.ts';

// The alert rules in infra/prometheus may use only metrics the services really export: this starts the
// real collector (watching a fake Kubernetes API server and taking HTTP ingest), analyzer and query API
// against the real Kafka and ClickHouse, drives some traffic through them, scrapes their /metrics and
// checks every metric (and every label matcher) of every rule expression against what they served.

const DIR = new URL('../infra/prometheus/', import.meta.url);
const README = readFileSync(new URL('README.md', DIR), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface Group {
  name: string;
  rules: Rule[];
}
const plain = parse(readFileSync(new URL('pullwatch-rules.yaml', DIR), 'utf8')) as { groups: Group[] };
const crd = parse(readFileSync(new URL('pullwatch-prometheusrule.yaml', DIR), 'utf8')) as {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: { groups: Group[] };
};
const rules = plain.groups.flatMap((g) => g.rules);

// ---------------------------------------------------------------- PromQL: the metric selectors of an expression

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'and',
  'or',
  'unless',
  'bool',
  'inf',
  'nan',
  'atan2',
]);

interface Selector {
  name: string;
  matchers: { label: string; op: string; value: string }[];
}

/** The metric selectors of a PromQL expression: names not called as functions, not keywords, not grouping labels. */
function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  // Grouping and matching label lists are labels, not metrics.
  const src = expr.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const re =
    /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\[[^\]]*\]|\{[^}]*\}|[A-Za-z_:][A-Za-z0-9_:]*|\d+(?:\.\d+)?[a-z]*|\S/g;
  const tokens = [...src.matchAll(re)].map((m) => m[0]);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!/^[A-Za-z_:]/.test(t) || KEYWORDS.has(t)) continue;
    if (tokens[i + 1] === '(') continue; // a function call
    const sel: Selector = { name: t, matchers: [] };
    const next = tokens[i + 1];
    if (next?.startsWith('{')) {
      for (const m of next
        .slice(1, -1)
        .matchAll(/\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?/g))
        sel.matchers.push({ label: m[1]!, op: m[2]!, value: m[3]! });
    }
    out.push(sel);
  }
  return out;
}

// ---------------------------------------------------------------- the exposition format

/** Sample names → the label sets seen on them. */
function parseExposition(text: string): Map<string, Record<string, string>[]> {
  const samples = new Map<string, Record<string, string>[]>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+\S+/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const list = samples.get(m[1]!) ?? [];
    list.push(labels);
    samples.set(m[1]!, list);
  }
  return samples;
}

// ---------------------------------------------------------------- the services

const INGEST_TOKEN = 'rules-ingest-token';
const API_TOKEN = 'rules-api-token';
// A ClickHouse of the test's own with the users file we ship: the analyzer writes as its admin, the query
// API reads as the production read-only user (its profile, not a per-request setting), in `pullwatch`.
const stack = new ServiceStack('rules', {
  database: READ_ONLY_DATABASE,
  env: {
    PULLWATCH_TOPIC_PARTITIONS: '2',
    PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
    PULLWATCH_API_TOKENS: API_TOKEN,
    PULLWATCH_ALERT_INTERVAL_SECONDS: '1',
    PULLWATCH_INCIDENT_INTERVAL_SECONDS: '1',
  },
});
const { topic, kafka } = stack;
let profiled: ProfiledClickHouse;
let admin: ClickHouseClient;
const fakeApi = new FakeApiServer();
let collector: Collector;
/** A second collector with a buffer of one Event: a request of two is pushed back with 503. */
let tinyCollector: Collector;
/** The analyzer's /metrics, as PULLWATCH_ANALYZER_METRICS_PORT serves it. */
let analyzerMetricsUrl: string;
let queryApi: QueryApi;
/** A second query API whose ClickHouse is unreachable: its routes answer 503. */
let orphanApi: QueryApi;
const scraped = new Map<string, Map<string, Record<string, string>[]>>();

const failed = (img: string) =>
  `Failed to pull image "${img}": rpc error: code = Unknown desc = failed to pull and unpack image "${img}": ` +
  `429 Too Many Requests - toomanyrequests: You have reached your pull rate limit`;
const event = (name: string, pod: string, message: string, reason = 'Failed') => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: 'shop', uid: `uid-${name}` },
  involvedObject: { kind: 'Pod', name: pod, namespace: 'shop', fieldPath: 'spec.containers{web}' },
  reason,
  message,
  type: 'Warning',
  count: 1,
  lastTimestamp: new Date().toISOString(),
  source: { host: 'node-a' },
});

/** The sum of a metric's samples whose labels include `labels` (exposition text). */
const value = (text: string, name: string, labels: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((n, l) => n + Number(l.split(/\s+/).at(-1)), 0);

const text = async (url: string) => {
  const res = await fetch(`${url}/metrics`);
  expect(res.status, url).toBe(200);
  return res.text();
};

/** A local port nothing listens on: bound on port 0, then closed. */
async function closedPort(): Promise<number> {
  const l = await startListener((_req, res) => res.end(), '127.0.0.1', 0);
  await l.close();
  return Number(new URL(l.url).port);
}

beforeAll(async () => {
  profiled = await startProfiledClickHouse();
  admin = createClickHouse({ url: profiled.url, ...profiled.admin });
  await migrate(admin, { database: stack.database, ttlDays: 90 });

  await fakeApi.start();
  fakeApi.put('pods', {
    metadata: { name: 'web-1', namespace: 'shop', uid: 'p1' },
    spec: { nodeName: 'node-a', containers: [{ name: 'web', image: 'docker.io/library/nginx:1.27' }] },
    status: {},
  });
  fakeApi.put('events', event('w1', 'web-1', failed('docker.io/library/nginx:1.27')));
  fakeApi.put('events', event('w0', 'web-1', 'Successfully assigned shop/web-1 to node-a', 'Scheduled'));
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'pw-rules-')), 'config');
  fakeApi.writeKubeconfig(kubeconfig, ['ctx-a']);

  const analyzer = await stack.analyzer({
    clickhouse: createClickHouse({ url: profiled.url, ...profiled.admin }),
    http: true,
  });
  analyzerMetricsUrl = analyzer.metricsUrl!;
  collector = await stack.collector({
    env: { PULLWATCH_KUBECONFIG: kubeconfig, PULLWATCH_KUBE_CONTEXTS: 'ctx-a=watched-1' },
  });
  tinyCollector = await stack.collector({ env: { PULLWATCH_BUFFER_MAX_EVENTS: '1' } });
  queryApi = await stack.queryApi({ clickhouse: createClickHouse({ url: profiled.url, ...profiled.readOnly }) });
  orphanApi = await stack.queryApi({
    env: { PULLWATCH_ALERT_INTERVAL_SECONDS: '3600' },
    clickhouse: createClickHouse({ ...profiled.readOnly, url: `http://127.0.0.1:${await closedPort()}` }),
  });
}, 180_000);

afterAll(async () => {
  await stack.stop();
  await fakeApi.stop();
  await admin?.close();
  await profiled?.stop();
});

// ---------------------------------------------------------------- tests

describe('infra/prometheus: rule files', () => {
  it('the PrometheusRule and the plain rules file hold the same groups', () => {
    expect(crd.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(crd.kind).toBe('PrometheusRule');
    expect(crd.metadata.name).toBe('pullwatch');
    expect(crd.spec.groups).toEqual(plain.groups);
    expect(plain.groups.map((g) => g.name)).toEqual(['pullwatch-pipeline', 'pullwatch-image-pulls']);
  });

  it('follow kube-prometheus conventions: CamelCase names, for, severity, summary, description, a runbook', () => {
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    const headings = new Set(
      [...README.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const r of rules) {
      expect(Object.keys(r).sort(), r.alert).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
      expect(r.alert).toMatch(/^Pullwatch(?:[A-Z][a-z0-9]*)+$/);
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(r.labels, r.alert).toEqual({ severity: expect.stringMatching(/^(critical|warning|info)$/) });
      expect(Object.keys(r.annotations).sort(), r.alert).toEqual(['description', 'runbook_url', 'summary']);
      expect(r.annotations.summary!.length, r.alert).toBeGreaterThan(10);
      expect(r.annotations.description!.length, r.alert).toBeGreaterThan(r.annotations.summary!.length);
      // Every alert has its runbook section in the README.
      expect(r.annotations.runbook_url, r.alert).toBe(`infra/prometheus/README.md#${r.alert.toLowerCase()}`);
      expect(headings.has(r.alert.toLowerCase()), `README section for ${r.alert}`).toBe(true);
    }
  });

  it('parses metric selectors out of PromQL', () => {
    expect(
      selectors(
        'sum by (namespace, le) (rate(a_total{x="1",y=~"5.."}[5m] offset 30m)) / on (namespace) group_left ' +
          'max(b) > 0 unless absent(c_count)',
      ),
    ).toEqual([
      {
        name: 'a_total',
        matchers: [
          { label: 'x', op: '=', value: '1' },
          { label: 'y', op: '=~', value: '5..' },
        ],
      },
      { name: 'b', matchers: [] },
      { name: 'c_count', matchers: [] },
    ]);
  });

  // `promtool check rules`, or infra/prometheus/rulecheck (the same rulefmt validation: YAML, PromQL,
  // durations, label names, annotation templates), which npm test builds into .pullwatch/bin with Go.
  it('promtool-style validation accepts the rules file', () => {
    const checker = [
      process.env.PULLWATCH_PROMTOOL ? [process.env.PULLWATCH_PROMTOOL, 'check', 'rules'] : null,
      [join(process.cwd(), '.pullwatch/bin/promtool'), 'check', 'rules'],
      [join(process.cwd(), '.pullwatch/bin/rulecheck')],
    ].find((c): c is string[] => c !== null && existsSync(c[0]!));
    if (!checker) throw new Error('no rule checker: npm test builds .pullwatch/bin/rulecheck when Go is installed');
    const [bin, ...args] = checker;
    const out = execFileSync(bin!, [...args, new URL('pullwatch-rules.yaml', DIR).pathname], { encoding: 'utf8' });
    expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});

describe('infra/prometheus: every metric a rule uses is exported by the running services', () => {
  it('scrapes the collector, analyzer and query API after real traffic', async () => {
    // HTTP ingest for one cluster (authenticated, as a collector with PULLWATCH_INGEST_TOKEN requires),
    // a rejected request, a request pushed back for lack of buffer, and a poison message for the
    // dead-letter topic; the watch of the fake API server forwards its Event by itself.
    const post = (c: Collector, cluster: string, body: string) =>
      fetch(`${c.ingestUrl}/v1/k8s-events?cluster=${cluster}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
      });
    const redis = failed('docker.io/library/redis:7');
    expect((await post(collector, 'ingested-1', JSON.stringify([event('h1', 'api-1', redis)]))).status).toBe(200);
    expect((await post(collector, 'ingested-1', '{not json')).status).toBe(400);
    const two = JSON.stringify([event('h2', 'api-2', redis), event('h3', 'api-3', redis)]);
    expect((await post(tinyCollector, 'ingested-2', two)).status).toBe(503);
    const producer = await createProducer(kafka);
    await producer.send(topic, [{ key: 'poison', value: 'not an envelope' }]);
    await producer.close();

    const collectorText = await until(async () => {
      const t = await text(collector.ingestUrl);
      return value(t, 'pullwatch_collector_watch_objects_total', 'outcome="forwarded"') >= 1 ? t : null;
    }, 'the watch to forward the fake API server Event');
    expect(value(collectorText, 'pullwatch_collector_watch_objects_total', 'cluster="watched-1"')).toBe(2);
    expect(value(collectorText, 'pullwatch_collector_events_total', 'cluster="ingested-1",outcome="forwarded"')).toBe(
      1,
    );
    expect(value(collectorText, 'pullwatch_collector_requests_total', 'status="400"')).toBe(1);
    const tinyText = await text(tinyCollector.ingestUrl);
    expect(value(tinyText, 'pullwatch_collector_requests_total', 'status="503"')).toBe(1);
    scraped.set('collector', parseExposition(`${collectorText}\n${tinyText}`));

    // Stored: the watched Event, the ingested one; dead-lettered: the poison message.
    const analyzerText = await until(async () => {
      const t = await text(analyzerMetricsUrl);
      return value(t, 'pullwatch_analyzer_messages_total', 'outcome="stored"') >= 2 &&
        value(t, 'pullwatch_analyzer_messages_total', 'outcome="dead_lettered"') === 1 &&
        // The lag gauge is set after the stored slice's offsets are committed, a moment after the count.
        /^pullwatch_analyzer_lag_messages\{/m.test(t)
        ? t
        : null;
    }, 'the analyzer to store 2 messages, dead-letter 1 and report its lag');
    expect(value(analyzerText, 'pullwatch_analyzer_failures_total', 'cause="rate_limited"')).toBe(2);
    scraped.set('analyzer', parseExposition(analyzerText));

    const auth = { authorization: `Bearer ${API_TOKEN}` };
    expect((await fetch(`${queryApi.url}/v1/registries`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${orphanApi.url}/v1/registries`, { headers: auth })).status).toBe(503);
    // The alerter evaluates every second; its per-registry gauge appears once it has seen docker.io.
    const apiText = await until(async () => {
      const t = await text(queryApi.url);
      return /pullwatch_registry_failure_rate\{[^}]*registry="docker.io"/.test(t) ? t : null;
    }, 'the query API alerter to export docker.io');
    const orphanText = await text(orphanApi.url);
    expect(value(orphanText, 'pullwatch_api_requests_total', 'status="503"')).toBe(1);
    scraped.set('query-api', parseExposition(`${apiText}\n${orphanText}`));
  });

  it('finds every metric and label matcher of every rule in what the services served', () => {
    expect([...scraped.keys()].sort()).toEqual(['analyzer', 'collector', 'query-api']);
    const all = new Map<string, Record<string, string>[]>();
    for (const m of scraped.values()) for (const [k, v] of m) all.set(k, [...(all.get(k) ?? []), ...v]);
    const used = new Set<string>();
    for (const r of rules) {
      const sels = selectors(r.expr);
      expect(sels.length, r.alert).toBeGreaterThan(0);
      for (const s of sels) {
        used.add(s.name);
        const samples = all.get(s.name);
        expect(samples, `${r.alert}: ${s.name} is not exported by any service`).toBeDefined();
        for (const m of s.matchers) {
          if (m.label === 'namespace' || m.label === 'job' || m.label === 'instance') continue; // target labels
          const values = samples!.map((l) => l[m.label]).filter((v): v is string => v !== undefined);
          expect(values.length, `${r.alert}: ${s.name} has no label ${m.label}`).toBeGreaterThan(0);
          if (m.op === '=') expect(values, `${r.alert}: ${s.name}{${m.label}="${m.value}"}`).toContain(m.value);
          if (m.op === '=~')
            expect(
              values.some((v) => new RegExp(`^(?:${m.value})$`).test(v)),
              `${r.alert}: ${s.name}{${m.label}=~"${m.value}"} matches nothing served (${[...new Set(values)]})`,
            ).toBe(true);
        }
      }
    }
    // Metrics the rules are written against, from all three services (a renamed one fails above).
    expect([...used].sort()).toEqual([
      'pullwatch_analyzer_dead_lettered_total',
      'pullwatch_analyzer_insert_seconds_bucket',
      'pullwatch_analyzer_insert_seconds_count',
      'pullwatch_analyzer_lag_messages',
      'pullwatch_analyzer_messages_total',
      'pullwatch_api_requests_total',
      'pullwatch_collector_buffered_bytes',
      'pullwatch_collector_buffered_events',
      'pullwatch_collector_events_total',
      'pullwatch_collector_requests_total',
      'pullwatch_collector_watch_activity_total',
      'pullwatch_collector_watch_objects_total',
      'pullwatch_open_fleet_incidents',
      'pullwatch_registry_failure_rate',
      'pullwatch_stuck_pods',
    ]);
  });
});
