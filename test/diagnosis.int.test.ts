import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventEnvelope, K8sEventSchema, type PodContext } from '@pullwatch/event-schema';
import { createMetricsRegistry } from '@pullwatch/telemetry';
import type { Analyzer } from '../services/analyzer/src/index.ts';
import { TYPO_HINT } from '../services/query-api/src/core/did-you-mean.ts';
import type { QueryApi } from '../services/query-api/src/index.ts';
import { ServiceStack } from './support/service-stack.ts';
import { until } from './support/until.ts';

// The diagnosis issue end to end: envelopes through the real Kafka and the real analyzer into
// ClickHouse, then "did you mean", the Docker Hub quota and recovery times from the query API.
const stack = new ServiceStack('diagnosis_it', { env: { PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600' } });
const { database } = stack;
const admin = ServiceStack.clickhouse();
const TOKEN = 'diagnosis-token';
// The query API's clock: whole minutes, so incident buckets start where the events do.
const NOW = Math.floor(Date.now() / 60_000) * 60_000;
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();

let analyzer: Analyzer;
let api: QueryApi;
let seq = 0;

interface Ev {
  cluster: string;
  pod: string;
  node: string;
  reason: string;
  message: string;
  count?: number;
  first: number;
  last?: number;
  pod_?: PodContext;
}
function envelope(e: Ev) {
  const uid = `u-${seq++}`;
  return eventEnvelope({
    cluster: e.cluster,
    source: 'http',
    event: K8sEventSchema.parse({
      metadata: { uid, name: `${e.pod}.${uid}`, namespace: 'shop', resourceVersion: String(seq) },
      involvedObject: { kind: 'Pod', name: e.pod, namespace: 'shop', fieldPath: 'spec.containers{app}' },
      reason: e.reason,
      message: e.message,
      count: e.count ?? 1,
      firstTimestamp: ago(e.first),
      lastTimestamp: ago(e.last ?? e.first),
      source: { host: e.node },
    }),
    ...(e.pod_ ? { pod: e.pod_ } : {}),
  });
}
const resolveFailed = (image: string, ref: string, why: string) =>
  `Failed to pull image "${image}": rpc error: code = Unknown desc = failed to pull and unpack image "${ref}": ` +
  `failed to resolve reference "${ref}": ${why}`;
const denied =
  'pull access denied, repository does not exist or may require authorization: server message: ' +
  'insufficient_scope: authorization failed';
const pulled = (image: string) =>
  `Successfully pulled image "${image}" in 1.5s (1.5s including waiting). Image size: 5000 bytes.`;
const quay503 = (img: string) =>
  resolveFailed(
    img,
    img,
    `unexpected status from HEAD request to https://quay.io/v2/acme/api/manifests/1: 503 Service Unavailable`,
  );
const withSecrets = (image: string, node: string): PodContext => ({
  image,
  imagePullPolicy: 'IfNotPresent',
  hasPullSecrets: true,
  node,
});

const events: Ev[] = [
  // prod pulls nginx:1.27.3 — 80 pulls 3 h ago on one node — and redis 9 times in the last hour on another.
  {
    cluster: 'prod',
    pod: 'web-1',
    node: 'prod-n1',
    reason: 'Pulled',
    message: pulled('nginx:1.27.3'),
    count: 80,
    first: 185,
    last: 180,
  },
  {
    cluster: 'prod',
    pod: 'cache-1',
    node: 'prod-n2',
    reason: 'Pulled',
    message: pulled('redis:7.4.1'),
    count: 9,
    first: 40,
    last: 30,
  },
  // Already present: costs Docker Hub nothing.
  {
    cluster: 'prod',
    pod: 'web-2',
    node: 'prod-n1',
    reason: 'Pulled',
    message: 'Container image "nginx:1.27.3" already present on machine',
    count: 5,
    first: 12,
    last: 10,
  },
  // No postgres for arm64: the manifest list was fetched, so the attempt counts.
  {
    cluster: 'prod',
    pod: 'db-1',
    node: 'prod-arm',
    reason: 'Failed',
    message:
      'Failed to pull image "postgres:17.2": rpc error: code = NotFound desc = failed to pull and unpack image ' +
      '"docker.io/library/postgres:17.2": no match for platform in manifest: not found',
    first: 14,
  },
  // Docker Hub refused three pulls with 429: not counted as used, reported as rate-limited.
  {
    cluster: 'prod',
    pod: 'tools-1',
    node: 'prod-n2',
    reason: 'Failed',
    message:
      'Failed to pull image "busybox:1.36": rpc error: code = Unknown desc = failed to pull and unpack image ' +
      '"docker.io/library/busybox:1.36": failed to copy: httpReadSeeker: failed open: unexpected status code ' +
      'https://registry-1.docker.io/v2/library/busybox/manifests/1.36: 429 Too Many Requests - Server ' +
      'message: toomanyrequests: You have reached your pull rate limit. You may increase the limit by ' +
      'authenticating and upgrading: https://www.docker.com/increase-rate-limit',
    count: 3,
    first: 8,
    last: 2,
  },
  // The private ledger pulls in prod with pull secrets…
  {
    cluster: 'prod',
    pod: 'ledger-1',
    node: 'prod-n1',
    reason: 'Pulled',
    message: pulled('registry.corp.example:5000/payments/ledger:5.1.0'),
    first: 60,
    pod_: withSecrets('registry.corp.example:5000/payments/ledger:5.1.0', 'prod-n1'),
  },
  // …and is denied in stg: credentials, not a typo.
  {
    cluster: 'stg',
    pod: 'ledger-2',
    node: 'stg-n1',
    reason: 'Failed',
    message: resolveFailed(
      'registry.corp.example:5000/payments/ledger:5.2.0',
      'registry.corp.example:5000/payments/ledger:5.2.0',
      denied,
    ),
    count: 4,
    first: 12,
    last: 1,
  },
  // A typo in stg: the fleet pulls nginx:1.27.3. CRI-O passes Docker Hub's bare "denied" on (issue 23).
  {
    cluster: 'stg',
    pod: 'web-typo',
    node: 'stg-n1',
    reason: 'Failed',
    message:
      'Failed to pull image "ngnix:1.27.3": rpc error: code = Unknown desc = initializing source ' +
      'docker://docker.io/library/ngnix:1.27.3: reading manifest 1.27.3 in docker.io/library/ngnix: requested ' +
      'access to the resource is denied',
    count: 5,
    first: 14,
    last: 1,
  },
  // KEP-2535: the kubelet could not write its pull intent record: node_storage, and Docker Hub never asked.
  {
    cluster: 'stg',
    pod: 'cache-intent',
    node: 'stg-n1',
    reason: 'Failed',
    message:
      'Error: failed to record image pull intent: open /var/lib/kubelet/image_manager/pulling/sha256-7f3a: ' +
      'permission denied',
    count: 3,
    first: 20,
    last: 5,
    pod_: { image: 'redis:7.4.1', imagePullPolicy: 'Always', hasPullSecrets: false, node: 'stg-n1' },
  },
  // An upper-case image name, and an image with no close match anywhere.
  {
    cluster: 'stg',
    pod: 'web-upper',
    node: 'stg-n1',
    reason: 'Failed',
    message:
      'Failed to pull image "Nginx:1.27.3": rpc error: code = InvalidArgument desc = failed to pull and unpack ' +
      'image "Nginx:1.27.3": failed to resolve reference "Nginx:1.27.3": invalid reference format: ' +
      'repository name must be lowercase',
    count: 2,
    first: 9,
    last: 3,
  },
  {
    cluster: 'stg',
    pod: 'zz-1',
    node: 'stg-n1',
    reason: 'Failed',
    message: resolveFailed('qwxyzzy/frobnicator:3', 'docker.io/qwxyzzy/frobnicator:3', denied),
    count: 2,
    first: 9,
    last: 3,
  },
  // quay.io down, recovering with known durations: 300 s, 120 s (prod) and 60 s (stg).
  {
    cluster: 'prod',
    pod: 'api-2',
    node: 'prod-n1',
    reason: 'Failed',
    message: quay503('quay.io/acme/api:1'),
    count: 2,
    first: 40,
    last: 38,
  },
  {
    cluster: 'prod',
    pod: 'api-2',
    node: 'prod-n1',
    reason: 'Pulled',
    message: pulled('quay.io/acme/api:1'),
    first: 35,
  },
  {
    cluster: 'prod',
    pod: 'api-1',
    node: 'prod-n2',
    reason: 'Failed',
    message: quay503('quay.io/acme/api:1'),
    count: 2,
    first: 30,
    last: 29,
  },
  {
    cluster: 'prod',
    pod: 'api-1',
    node: 'prod-n2',
    reason: 'Pulled',
    message: pulled('quay.io/acme/api:1'),
    first: 28,
  },
  { cluster: 'stg', pod: 'api-3', node: 'stg-n1', reason: 'Failed', message: quay503('quay.io/acme/api:1'), first: 20 },
  { cluster: 'stg', pod: 'api-3', node: 'stg-n1', reason: 'Pulled', message: pulled('quay.io/acme/api:1'), first: 19 },
];

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  await stack.migrate(admin);
  await stack.topics(2);
  ({ analyzer } = await stack.analyzer({
    env: {
      // The scenario's open incidents last failed up to 15 minutes before NOW: a quiet period of an hour keeps
      // them open however long a slow machine takes to get here (15 minutes would close one at the edge).
      PULLWATCH_INCIDENT_QUIET_SECONDS: '3600',
    },
    metrics: createMetricsRegistry('diagnosis-analyzer'),
  }));

  await stack.produce(events.map(envelope));
  await until(async () => (await stack.count(admin, 'raw_events')) === events.length, 'every envelope stored');
  await analyzer.correlateNow();

  // stg's nodes each have their own address; prod is one NAT (the default).
  const dir = mkdtempSync(join(tmpdir(), 'pullwatch-egress-'));
  const egressFile = join(dir, 'egress.yaml');
  writeFileSync(egressFile, 'limit: 100\nwindow: 6h\nclusters:\n  stg: { egress: node }\n');
  api = await stack.queryApi({
    env: { PULLWATCH_API_TOKENS: TOKEN, PULLWATCH_DOCKERHUB_EGRESS_FILE: egressFile },
    metrics: createMetricsRegistry('diagnosis-api'),
    now: () => new Date(NOW),
  });
});

afterAll(async () => {
  await stack.stop();
  await admin.close();
});

type Item = {
  pod?: string;
  image: string;
  cause: string;
  suggestion: string | null;
  evidence: string | null;
  hint: string;
};

describe('diagnosis through Kafka, the analyzer and the query API', () => {
  it('reads a denial as the typo a close name that pulls suggests, and one whose repository pulls elsewhere as credentials', async () => {
    const { failures } = await get<{ failures: Item[] }>('/v1/failures?limit=1000');
    const byPod = (pod: string) => failures.filter((f) => f.pod === pod);
    // The typo leads, and nothing advises credentials: a close name pulls, this repository never did.
    expect(byPod('web-typo').map((f) => [f.cause, f.suggestion, f.evidence, f.hint])).toEqual([
      ['not_found', 'nginx:1.27.3', 'similar_fleet_image', `Did you mean nginx:1.27.3? ${TYPO_HINT}`],
    ]);
    expect(byPod('web-typo')[0]!.hint).not.toMatch(/imagePullSecret|credential/i);
    // The stored cause stays the registry's honest ambiguity; the API resolves it with the fleet's evidence.
    const stored = await admin.query({
      query: `SELECT DISTINCT cause FROM ${database}.pull_events WHERE pod = 'web-typo' AND outcome = 'failure'`,
      format: 'JSONEachRow',
    });
    expect(await stored.json()).toEqual([{ cause: 'not_found_or_unauthorized' }]);
    expect(byPod('ledger-2').map((f) => [f.cause, f.suggestion, f.evidence])).toEqual([
      ['unauthorized', null, 'fleet_pulls_same_repository'],
    ]);
    expect(byPod('ledger-2')[0]!.hint).toMatch(/^This repository pulls successfully elsewhere in the fleet/);
    expect(byPod('web-upper').map((f) => [f.cause, f.suggestion, f.evidence])).toEqual([
      ['invalid_reference', 'nginx:1.27.3', 'fleet_pulls_same_repository'],
    ]);
    // Never invented.
    expect(byPod('zz-1').map((f) => [f.cause, f.suggestion, f.evidence])).toEqual([
      ['not_found_or_unauthorized', null, null],
    ]);
    // Other causes are left alone.
    expect(byPod('tools-1').map((f) => [f.cause, f.suggestion, f.evidence])).toEqual([['rate_limited', null, null]]);

    const stuck = await get<{ pods: Item[] }>('/v1/pods/stuck');
    expect(
      stuck.pods
        .filter((p) => p.pod === 'web-typo' || p.pod === 'ledger-2')
        .map((p) => [p.pod, p.cause, p.suggestion, p.evidence, p.hint.slice(0, 26)])
        .sort(),
    ).toEqual([
      ['ledger-2', 'unauthorized', null, 'fleet_pulls_same_repository', 'This repository pulls succ'],
      ['web-typo', 'not_found', 'nginx:1.27.3', 'similar_fleet_image', 'Did you mean nginx:1.27.3?'],
    ]);

    const { incidents } = await get<{ incidents: (Item & { images: string[] })[] }>('/v1/incidents');
    const typo = incidents.find((i) => i.images.includes('ngnix:1.27.3'));
    expect(typo).toMatchObject({ cause: 'not_found', suggestion: 'nginx:1.27.3', evidence: 'similar_fleet_image' });
    expect(typo!.hint).toBe(`Did you mean nginx:1.27.3? ${TYPO_HINT}`);
  });

  it('forecasts the Docker Hub quota per egress', async () => {
    expect(await get('/v1/quota/docker-hub')).toEqual({
      window: '6h',
      egresses: [
        {
          egress: 'cluster:prod',
          clusters: ['prod'],
          limit: 100,
          // 80 + 9 pulls, and the arm64 attempt that fetched the manifest list.
          used: 90,
          remaining: 10,
          ratePerHour: 10,
          exhaustedAt: new Date(NOW + 3_600_000).toISOString(),
          rateLimitedFailures: 3,
          level: 'near',
        },
        {
          egress: 'node:stg/stg-n1',
          clusters: ['stg'],
          limit: 100,
          // The failed pull intent record (cache-intent) never reached Docker Hub.
          used: 0,
          remaining: 100,
          ratePerHour: 0,
          exhaustedAt: null,
          rateLimitedFailures: 0,
          level: 'ok',
        },
      ],
      // No accounts configured, and the 429 is Docker Hub's anonymous wording: no account bucket.
      accounts: [],
    });
  });

  it('fires DockerHubQuotaNearlyExhausted for the egress near its quota', async () => {
    await api.alerter.evaluate();
    const { alerts } = await get<{ alerts: { rule: string; labels: Record<string, string>; summary: string }[] }>(
      '/v1/alerts',
    );
    expect(alerts.filter((a) => a.rule === 'DockerHubQuotaNearlyExhausted')).toEqual([
      expect.objectContaining({
        labels: { egress: 'cluster:prod' },
        summary:
          `cluster:prod: 90 of 100 Docker Hub pulls used (prod), exhausted ` +
          `by ${new Date(NOW + 3_600_000).toISOString()}`,
      }),
    ]);
  });

  it('reports recovery times per cause and cluster, and incident durations', async () => {
    const byCause = await get<{ groups: unknown[]; incidents: unknown[] }>('/v1/recovery?groupBy=cause');
    expect(byCause.groups).toEqual([
      // 60, 120, 300 s: p90 interpolates between 120 and 300.
      { cause: 'not_found_or_unauthorized', count: 0, p50: null, p90: null, max: null, stillStuck: 3 },
      { cause: 'registry_unavailable', count: 3, p50: 120, p90: 264, max: 300, stillStuck: 0 },
      { cause: 'invalid_reference', count: 0, p50: null, p90: null, max: null, stillStuck: 1 },
      { cause: 'node_storage', count: 0, p50: null, p90: null, max: null, stillStuck: 1 },
      { cause: 'platform_mismatch', count: 0, p50: null, p90: null, max: null, stillStuck: 1 },
      { cause: 'rate_limited', count: 0, p50: null, p90: null, max: null, stillStuck: 1 },
    ]);
    // Incidents start at their first failure bucket (the minute of an observation's last occurrence:
    // 38 minutes ago for quay.io) and end when the last cluster pulled again (19 minutes ago).
    expect(byCause.incidents).toEqual([
      { cause: 'not_found_or_unauthorized', count: 0, p50: null, p90: null, max: null, open: 3 },
      // The upper-case reference still names its registry (docker.io), so it forms an incident of its own.
      { cause: 'invalid_reference', count: 0, p50: null, p90: null, max: null, open: 1 },
      { cause: 'node_storage', count: 0, p50: null, p90: null, max: null, open: 1 },
      { cause: 'platform_mismatch', count: 0, p50: null, p90: null, max: null, open: 1 },
      { cause: 'rate_limited', count: 0, p50: null, p90: null, max: null, open: 1 },
      { cause: 'registry_unavailable', count: 1, p50: 1140, p90: 1140, max: 1140, open: 0 },
    ]);
    const byCluster = await get<{ groups: unknown[] }>('/v1/recovery?groupBy=cluster');
    expect(byCluster.groups).toEqual([
      { cluster: 'stg', count: 1, p50: 60, p90: 60, max: 60, stillStuck: 5 },
      { cluster: 'prod', count: 2, p50: 210, p90: 282, max: 300, stillStuck: 2 },
    ]);
  });

  it('documents the new routes and fields in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: { name: string }[]; responses: Record<string, unknown> } }>;
    };
    expect(doc.paths['/v1/recovery']!.get.parameters.map((p) => p.name)).toEqual([
      'from',
      'to',
      'groupBy',
      'cluster',
      'team',
    ]);
    expect(doc.paths['/v1/quota/docker-hub']!.get.parameters).toEqual([]);
    expect(JSON.stringify(doc.paths['/v1/failures']!.get.responses['200'])).toContain('"suggestion"');
    expect(JSON.stringify(doc.paths['/v1/quota/docker-hub']!.get.responses['200'])).toContain('"exhaustedAt"');
  });
});
