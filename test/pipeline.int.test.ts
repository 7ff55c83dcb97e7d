import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createClickHouse } from '@pullwatch/clickhouse';
import type { RunningStack } from 'pullwatch';
import { testEndpoints } from './support/endpoints.ts';
import { type SimulatedStack, simulatedStack } from './support/simulated-stack.ts';
import { untilValue } from './support/until.ts';

const until = <T>(probe: () => Promise<T | null>, what: string, ms = 120_000) => untilValue(probe, what, ms, 1000);

// The main job end to end, as `npm start` runs it: simulated fleet → collector → Kafka → analyzer
// → ClickHouse → query API → dashboard in a real browser.
const TOKEN = 'e2e-token';
let sim: SimulatedStack;
let stack: RunningStack;
let database: string;
const api = <T>(path: string) => sim.api<T>(path);

beforeAll(async () => {
  sim = await simulatedStack('pipeline_e2e', TOKEN, { PULLWATCH_INGEST_TOKEN: 'pipeline-test-ingest-token' });
  ({ stack, database } = sim);
});

afterAll(async () => {
  await sim?.stop();
});

describe('npm start: the pipeline on a simulated fleet', () => {
  it('turns the simulated fleet into registries, hotspots, incidents and stuck Pods', async () => {
    type Incidents = { incidents: { scope: string; registry: string; cause: string; clusters: string[] }[] };
    const quayOf = (r: Incidents) =>
      r.incidents.filter((i) => i.registry === 'quay.io' && i.cause === 'registry_unavailable');
    // Correlation runs on an interval: the first fleet incident can be formed before every cluster's failures
    // are stored (seen in CI: staging-eu joined a round later). Wait until all three are in, then check.
    const incidents = await until(async () => {
      const r = await api<Incidents>('/v1/incidents?status=all');
      const clusters = new Set(quayOf(r).flatMap((i) => i.clusters));
      return r.incidents.some((i) => i.scope === 'fleet') && clusters.size >= 3 ? r.incidents : null;
    }, 'a fleet incident over the three clusters of the quay.io outage');
    // The scenario's quay.io outage hits three clusters at once: fleet-wide, and exactly those clusters. (The
    // simulated pulls are random: a quiet gap longer than the incident window can split it in two.)
    const quay = quayOf({ incidents });
    expect(quay.some((i) => i.scope === 'fleet')).toBe(true);
    expect([...new Set(quay.flatMap((i) => i.clusters))].sort()).toEqual([
      'prod-eu-west',
      'prod-us-east',
      'staging-eu',
    ]);
    expect(incidents).toContainEqual(
      expect.objectContaining({
        scope: 'cluster',
        registry: 'docker.io',
        cause: 'rate_limited',
        clusters: ['prod-us-east'],
      }),
    );

    // Exact counts: the API's per-registry figures (from the per-minute aggregates) for a closed window
    // equal the failure and success occurrences in pull_events, read directly, once that window is settled.
    const minute = 60_000;
    const chText = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
    const to = new Date(Math.floor(Date.now() / minute) * minute - 2 * minute);
    const from = new Date(to.getTime() - 60 * minute);
    const truth = async () => {
      const admin = createClickHouse({ ...testEndpoints().clickhouse });
      try {
        const rs = await admin.query({
          query: `SELECT registry, sumIf(occurrences, outcome = 'failure') AS failures,
                    sumIf(occurrences, outcome = 'success') AS successes
                  FROM ${database}.pull_events WHERE event_time >= {from:DateTime64(3)}
                    AND event_time < {to:DateTime64(3)}
                  GROUP BY registry HAVING failures + successes > 0 ORDER BY registry`,
          query_params: { from: chText(from), to: chText(to) },
          format: 'JSONEachRow',
        });
        return (await rs.json<{ registry: string; failures: number | string; successes: number | string }>()).map(
          (r) => ({
            registry: r.registry,
            failures: Number(r.failures),
            successes: Number(r.successes),
          }),
        );
      } finally {
        await admin.close();
      }
    };
    const { before, served } = await until(async () => {
      const before = await truth();
      const r = await api<{ registries: { registry: string; failures: number; successes: number }[] }>(
        `/v1/registries?from=${from.toISOString()}&to=${to.toISOString()}`,
      );
      // Nothing late arrived for the window while reading: the two are comparable.
      return JSON.stringify(await truth()) === JSON.stringify(before) ? { before, served: r.registries } : null;
    }, 'a settled window');
    expect(
      served
        .map((r) => ({ registry: r.registry, failures: r.failures, successes: r.successes }))
        .sort((a, b) => a.registry.localeCompare(b.registry)),
    ).toEqual(before);
    const docker = before.find((r) => r.registry === 'docker.io');
    // The scenario rate-limits docker.io in prod-us-east while other pulls succeed.
    expect(docker!.failures).toBeGreaterThan(0);
    expect(docker!.successes).toBeGreaterThan(0);

    const hotspots = await api<{ hotspots: { registry: string; cluster: string }[] }>('/v1/hotspots/rate-limit');
    expect(hotspots.hotspots[0]).toMatchObject({ registry: 'docker.io', cluster: 'prod-us-east' });

    const stuck = await until(async () => {
      const r = await api<{ pods: { image: string; cause: string }[] }>('/v1/pods/stuck');
      return r.pods.length ? r.pods : null;
    }, 'stuck pods');
    expect(stuck.map((p) => p.image)).toContain('ghcr.io/acme/checkout:4.1.9-rc2');
    // The scenario's typo: nginx:1.27.3 pulls in the other clusters.
    const typo = await until(async () => {
      const r = await api<{ pods: { image: string; suggestion: string | null; evidence: string | null }[] }>(
        '/v1/pods/stuck',
      );
      return r.pods.find((p) => p.image === 'ngnix:1.27.3') ?? null;
    }, 'the typo stuck');
    expect(typo).toMatchObject({ suggestion: 'nginx:1.27.3', evidence: 'similar_fleet_image' });
  });

  it(
    'recovers a failing Pod when its container starts: ' + 'collector filter → Kafka → analyzer → ClickHouse',
    async () => {
      // One base for every time (whole seconds, as Kubernetes writes them): each call to Date.now() could move it.
      const base = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
      const at = (s: number) => new Date(base + s * 1000).toISOString();
      const ev = (uid: string, reason: string, message: string, count: number, s: number) => ({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `api-1.${uid}`, namespace: 'shop', uid },
        involvedObject: { kind: 'Pod', name: 'api-1', namespace: 'shop', fieldPath: 'spec.containers{api}' },
        reason,
        message,
        count,
        firstTimestamp: at(0),
        lastTimestamp: at(s),
      });
      const img = 'quay.io/acme/api:2.0.1';
      const res = await fetch(`${stack.ingestUrl}/v1/k8s-events?cluster=e2e-recovery`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.ingestToken}` },
        body: JSON.stringify([
          ev(
            'f1',
            'Failed',
            `Failed to pull image "${img}": rpc error: code = Unknown desc = 503 Service Unavailable`,
            2,
            30,
          ),
          ev('b1', 'BackOff', `Back-off pulling image "${img}"`, 1, 40),
          ev('s1', 'Started', 'Started container api', 1, 120),
        ]),
      });
      expect(await res.json()).toEqual({ accepted: 3, filtered: 0, received: 3 });
      const admin = createClickHouse({ ...testEndpoints().clickhouse });
      try {
        const state = await until(async () => {
          const rs = await admin.query({
            query:
              `SELECT status, attempts, time_to_recover_ms AS ttr FROM ${database}.pod_pull_state FINAL ` +
              `WHERE cluster = 'e2e-recovery'`,
            format: 'JSONEachRow',
          });
          const rows = await rs.json<{ status: string; attempts: number | string; ttr: number | string | null }>();
          return rows[0]?.status === 'recovered' ? rows : null;
        }, 'the Pod recovered');
        expect(state.map((r) => [r.status, Number(r.attempts), Number(r.ttr)])).toEqual([['recovered', 2, 120_000]]);
      } finally {
        await admin.close();
      }
    },
  );

  it('shows it on the dashboard in a real browser, without console errors', async () => {
    let browser: Browser | null = null;
    try {
      browser = await chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${stack.apiUrl}/#token=${TOKEN}`);
      await page.waitForSelector('#incidents tbody tr td .tag', { timeout: 30_000 });
      await page.waitForSelector('#trend-chart svg polyline', { timeout: 30_000 });
      expect(await page.locator('#registries tbody tr').count()).toBeGreaterThan(2);
      expect(await page.locator('#stuck tbody tr').count()).toBeGreaterThan(0);
      expect(await page.locator('#hotspots td.heat').count()).toBeGreaterThan(0);
      expect(await page.locator('#quota tbody tr').count()).toBeGreaterThan(0);
      expect(await page.locator('#recovery tbody tr').count()).toBeGreaterThan(0);
      expect(await page.locator('#status').textContent()).toMatch(/updated/);
      const dir = join(process.cwd(), 'test-output');
      mkdirSync(dir, { recursive: true });
      const shot = join(dir, 'dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      process.stdout.write(`dashboard screenshot: ${shot}\n`);
      expect(errors).toEqual([]);
    } finally {
      await browser?.close();
    }
  });

  it('runs each service in a process of its own and stops them all, leaving none behind', async () => {
    expect(stack.services.map((s) => s.service)).toEqual(['analyzer', 'collector', 'query-api']);
    const pids = stack.services.map((s) => s.pid);
    expect(new Set(pids).size).toBe(3);
    expect(pids).not.toContain(process.pid);
    await stack.stop();
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});
