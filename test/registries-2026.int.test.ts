import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultScenarioPath, FleetSimulation, loadScenario, sendEvents } from '@pullwatch/simulator';
import { createMetricsRegistry } from '@pullwatch/telemetry';
import type { QueryApi } from '../services/query-api/src/index.ts';
import { ServiceStack } from './support/service-stack.ts';
import { until } from './support/until.ts';

// Issue 23 end to end: scenarios/registries-2026.yaml — each 2026 registry message family from a Pod of its
// own — sent by the simulator to the collector's HTTP ingest, through the real Kafka and analyzer into
// ClickHouse, then read from the query API: the cause per message, Docker Hub's per-account bucket, and the
// Harbor proxy cache's not found told apart from a typo. The simulation is seeded: the figures are exact
// (packages/simulator/src/registries-2026-scenario.test.ts pins the same scenario).
const stack = new ServiceStack('registries_2026_it', { env: { PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600' } });
const { database } = stack;
const admin = ServiceStack.clickhouse();
const TOKEN = 'registries-2026-token';
const INGEST_TOKEN = 'registries-2026-ingest-token';
// The scenario's "now" and the query API's clock: whole minutes.
const NOW = Math.floor(Date.now() / 60_000) * 60_000;
const emitted = new FleetSimulation(loadScenario(join(defaultScenarioPath, '../registries-2026.yaml')), NOW).advance(
  NOW,
);

let api: QueryApi;

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

const count = async (sql: string) => {
  const rs = await admin.query({ query: sql, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: string }>())[0]?.n);
};

beforeAll(async () => {
  await stack.migrate(admin);
  await stack.topics(2);
  await stack.analyzer({ metrics: createMetricsRegistry('registries-2026-analyzer') });
  const collector = await stack.collector({
    env: { PULLWATCH_INGEST_TOKEN: INGEST_TOKEN },
    metrics: createMetricsRegistry('registries-2026-collector'),
  });
  const { accepted } = await sendEvents(collector.ingestUrl, emitted, { token: INGEST_TOKEN });
  await until(async () => (await stack.count(admin, 'raw_events')) === accepted, 'every accepted Event stored');

  // ci-bot's credentials pull in prod and stg (node-level: every pull there is ci-bot's); edge pulls
  // anonymously through its NAT address; harbor.example.com/dockerhub-proxy is known by its library/ path.
  const dir = mkdtempSync(join(tmpdir(), 'pullwatch-egress-'));
  const egressFile = join(dir, 'egress.yaml');
  writeFileSync(egressFile, 'accounts:\n  - { name: ci-bot, clusters: [prod, stg], pulls: all }\n');
  api = await stack.queryApi({
    env: { PULLWATCH_API_TOKENS: TOKEN, PULLWATCH_DOCKERHUB_EGRESS_FILE: egressFile },
    metrics: createMetricsRegistry('registries-2026-api'),
    now: () => new Date(NOW),
  });
}, 120_000);

afterAll(async () => {
  await stack.stop();
  await admin.close();
});

type Failure = {
  pod: string;
  image: string;
  registry: string;
  cause: string;
  subcause: string | null;
  occurrences: number;
  suggestion: string | null;
  evidence: string | null;
  hint: string;
};

const PROXY_HINT =
  "The proxy cache may be masking Docker Hub's rate limit: harbor.example.com/dockerhub-proxy is a pull-through " +
  'cache of Docker Hub, and a proxy cache answers "not found" for an image it has not cached when Docker Hub ' +
  'refuses it (goharbor/harbor#23750). Docker Hub refused 100 pulls in the fleet in the last hour (last at ' +
  `${new Date(NOW - 2000).toISOString()}). Check the proxy's upstream (its Docker Hub account and rate limit) ` +
  'before the image name; pulls recover when the limit does.';

describe('the 2026 registry messages through the pipeline', () => {
  it('gives each message its cause in the API, and the Harbor proxy cache its masked rate limit', async () => {
    const { failures } = await get<{ failures: Failure[] }>('/v1/failures?limit=1000');
    const byImage = new Map<string, { cause: string; evidence: string | null; suggestion: string | null; n: number }>();
    for (const f of failures) {
      const key = `${f.image} ${f.registry} ${f.cause}${f.subcause ? `/${f.subcause}` : ''}`;
      const held = byImage.get(key);
      byImage.set(key, {
        cause: f.cause,
        evidence: f.evidence,
        suggestion: f.suggestion,
        n: (held?.n ?? 0) + f.occurrences,
      });
    }
    expect(Object.fromEntries([...byImage].map(([k, v]) => [k, [v.n, v.evidence, v.suggestion]]).sort())).toEqual({
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:2.4.1 123456789012.dkr.ecr.eu-west-1.amazonaws.com unauthorized/expired_token':
        [11, null, null],
      'acme.azurecr.io/web/api:3 acme.azurecr.io rate_limited/registry': [11, null, null],
      // HAP429: Docker Hub's abuse limit.
      'alpine:3.21 docker.io rate_limited/registry': [10, null, null],
      'busybox:1.36 docker.io rate_limited/registry': [10, null, null],
      'europe-docker.pkg.dev/acme/web/api:3 europe-docker.pkg.dev rate_limited/registry': [11, null, null],
      'ghcr.io/acme/web:1.8.0 ghcr.io rate_limited/registry': [11, null, null],
      'harbor.example.com/dockerhub-proxy/library/redis:7.4.1 harbor.example.com not_found': [
        8,
        'upstream_rate_limited',
        null,
      ],
      'harbor.example.com/payments/ledger:5.1.0 harbor.example.com unauthorized': [11, null, null],
      // Docker Hub's per-account refusals of ci-bot in prod and stg.
      'nginx:1.27.3 docker.io rate_limited/registry': [80, null, null],
      'quay.io/acme/private:1 quay.io unauthorized': [11, null, null],
    });
    const proxy = failures.filter((f) => f.image.startsWith('harbor.example.com/dockerhub-proxy/'));
    expect(new Set(proxy.map((f) => f.hint))).toEqual(new Set([PROXY_HINT]));
    expect(proxy[0]!.hint).not.toMatch(/Did you mean/);

    const { pods } = await get<{ pods: Failure[] }>('/v1/pods/stuck');
    const stuckProxy = pods.filter((p) => p.image.startsWith('harbor.example.com/dockerhub-proxy/'));
    expect(stuckProxy.map((p) => [p.cause, p.evidence, p.suggestion, p.hint])).toEqual([
      ['not_found', 'upstream_rate_limited', null, PROXY_HINT],
    ]);
  });

  it("stores Docker Hub's per-account refusals with the token id redacted", async () => {
    const where = `FROM ${database}.pull_events WHERE message LIKE '%pull rate limit as ''ci-bot''%'`;
    expect(await count(`SELECT count() AS n ${where} AND message LIKE '%dckr_jti_<redacted>. You may%'`)).toBe(80);
    expect(await count(`SELECT count() AS n ${where} AND NOT message LIKE '%dckr_jti_<redacted>.%'`)).toBe(0);
    expect(
      await count(`SELECT count() AS n FROM ${database}.raw_events WHERE match(payload, 'dckr_jti_[0-9a-f]')`),
    ).toBe(0);
  });

  it("puts ci-bot's pulls and refusals in one account bucket across prod and stg, and edge's in its egress", async () => {
    const empty = (cluster: string) => ({
      egress: `cluster:${cluster}`,
      clusters: [cluster],
      limit: 100,
      used: 0,
      remaining: 100,
      ratePerHour: 0,
      exhaustedAt: null,
      rateLimitedFailures: 0,
      level: 'ok',
    });
    expect(await get('/v1/quota/docker-hub')).toEqual({
      window: '6h',
      egresses: [
        {
          egress: 'cluster:edge',
          clusters: ['edge'],
          limit: 100,
          // nginx pulled 13 times; busybox's anonymous limit and alpine's HAP429 refused 20 pulls.
          used: 13,
          remaining: 87,
          ratePerHour: 13,
          exhaustedAt: null,
          rateLimitedFailures: 20,
          level: 'ok',
        },
        // Every pull of prod and stg is ci-bot's: their addresses count nothing.
        empty('prod'),
        empty('stg'),
      ],
      accounts: [
        {
          account: 'ci-bot',
          configured: true,
          clusters: ['prod', 'stg'],
          limit: 200,
          window: '6h',
          // 14 pulls in prod and 4 in stg, before Docker Hub refused ci-bot 22 + 58 times.
          used: 18,
          remaining: 182,
          ratePerHour: 18,
          exhaustedAt: null,
          rateLimitedFailures: 80,
          lastRateLimitedAt: new Date(NOW - 2000).toISOString(),
          // Refused within the hour: full, whatever the fleet counted.
          level: 'full',
        },
      ],
    });
  });

  it('fires DockerHubQuotaNearlyExhausted for ci-bot, refused by Docker Hub within the hour', async () => {
    await api.alerter.evaluate();
    const { alerts } = await get<{ alerts: { rule: string; labels: Record<string, string>; summary: string }[] }>(
      '/v1/alerts',
    );
    // edge's egress (13 of 100, forecast past its window) stays quiet.
    expect(alerts.filter((a) => a.rule === 'DockerHubQuotaNearlyExhausted')).toEqual([
      expect.objectContaining({
        labels: { account: 'ci-bot' },
        summary:
          'account ci-bot (prod, stg): 18 of 200 Docker Hub pulls used; Docker Hub refused 80 pulls as ci-bot in ' +
          `6h, last at ${new Date(NOW - 2000).toISOString()}`,
      }),
    ]);
  });
});
