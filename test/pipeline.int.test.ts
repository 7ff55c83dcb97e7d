import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createClickHouse } from '@pullwatch/clickhouse';
import { type RunningStack, runStack } from 'pullwatch';
import { testEndpoints, uniqueName } from './support/endpoints.ts';

// The main job end to end, as `npm start` runs it: simulated fleet → collector → Kafka → analyzer
// → ClickHouse → query API → dashboard in a real browser.
const database = uniqueName('pipeline_e2e');
const topic = uniqueName('pipeline_e2e');
const TOKEN = 'e2e-token';
let stack: RunningStack;

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${stack.apiUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

async function until<T>(probe: () => Promise<T | null>, what: string, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

beforeAll(async () => {
  stack = await runStack({
    simulate: true,
    kubeconfig: null,
    contexts: [],
    scenario: null,
    allEvents: false,
    out: () => undefined,
    err: (l) => process.stderr.write(`[stack] ${l}\n`),
    summaryEverySeconds: 0,
    env: {
      ...process.env,
      PULLWATCH_API_PORT: '0',
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_INGEST_TOKEN: 'pipeline-test-ingest-token',
      PULLWATCH_API_TOKENS: TOKEN,
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_TOPIC: topic,
      PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
      PULLWATCH_ANALYZER_GROUP: `${topic}_g`,
      PULLWATCH_INCIDENT_INTERVAL_SECONDS: '2',
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  const admin = createClickHouse({ ...testEndpoints().clickhouse });
  await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
});

describe('npm start: the pipeline on a simulated fleet', () => {
  it('turns the simulated fleet into registries, hotspots, incidents and stuck Pods', async () => {
    const incidents = await until(async () => {
      const r = await api<{ incidents: { scope: string; registry: string; cause: string; clusters: string[] }[] }>(
        '/v1/incidents?status=all',
      );
      return r.incidents.some((i) => i.scope === 'fleet') ? r.incidents : null;
    }, 'a fleet incident');
    // The scenario's quay.io outage hits three clusters at once.
    expect(incidents).toContainEqual(
      expect.objectContaining({
        scope: 'fleet',
        registry: 'quay.io',
        cause: 'registry_unavailable',
        clusters: ['prod-eu-west', 'prod-us-east', 'staging-eu'],
      }),
    );
    expect(incidents).toContainEqual(
      expect.objectContaining({
        scope: 'cluster',
        registry: 'docker.io',
        cause: 'rate_limited',
        clusters: ['prod-us-east'],
      }),
    );

    const registries = await api<{ registries: { registry: string; failures: number; successes: number }[] }>(
      '/v1/registries',
    );
    expect(registries.registries.find((r) => r.registry === 'docker.io')).toMatchObject({
      failures: expect.any(Number),
      successes: expect.any(Number),
    });
    expect(registries.registries.reduce((n, r) => n + r.successes, 0)).toBeGreaterThan(100);

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
