import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, chromium, type Page } from 'playwright-core';
import { pullErrorDetail } from '@pullwatch/simulator';
import type { RunningStack } from 'pullwatch';
import { type SimulatedStack, simulatedStack } from './support/simulated-stack.ts';
import { untilValue } from './support/until.ts';

const until = <T>(probe: () => Promise<T | null>, what: string, ms = 120_000) => untilValue(probe, what, ms, 1000);

// The browser's globals, for the functions this file runs in the page (the project compiles without the DOM lib).
// biome-ignore lint/suspicious/noExplicitAny: page-side code, checked by running it
type Dom = any;
declare const document: Dom;
declare function getComputedStyle(e: Dom): Dom;
declare const SVGElement: Dom;
type Element = Dom;
type HTMLElement = Dom;
type HTMLDialogElement = Dom;

// The built-in dashboard in real headless Chromium, on the whole stack (`npm start`'s simulated fleet →
// collector → Kafka → analyzer → ClickHouse → query API): layout at two screen sizes, filters, time
// range, drill-down, accessibility. Screenshots go to test-output/.
const TOKEN = 'dashboard-token';
const OUT = join(process.cwd(), 'test-output');
let sim: SimulatedStack;
let stack: RunningStack;
let browser: Browser;

interface Failure {
  cluster: string;
  namespace: string;
  pod: string;
  image: string;
  registry: string;
  cause: string;
  occurrences: number;
}
interface Incident {
  id: string;
  registry: string;
  cause: string;
  scope: string;
  clusters: string[];
  images: string[];
}
interface Stuck {
  cluster: string;
  namespace: string;
  pod: string;
  image: string;
  registry: string;
  suggestion: string | null;
}
interface Registry {
  registry: string;
  failures: number;
  successes: number;
}
interface Quota {
  egresses: { egress: string; clusters: string[] }[];
  accounts: { account: string; clusters: string[] }[];
}
interface Bucket {
  ts: string;
  failures: number;
  successes: number;
}

const api = <T>(path: string) => sim.api<T>(path);

// Teams from a mapping file (the simulated fleet's Namespaces carry no team label): every cluster's `shop`
// is storefront's, every `payments` payments', and prod-us-east's `search` search's.
const TEAMS = 'namespaces:\n  shop: storefront\n  payments: payments\nclusters:\n  prod-us-east:\n    search: search\n';
// A Docker Hub account for staging-eu's `ci` namespace (none there: idle, its whole quota left).
const EGRESS = 'accounts:\n  - { name: ci-bot, namespaces: [{ cluster: staging-eu, namespace: ci }] }\n';

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  const teamsFile = join(mkdtempSync(join(tmpdir(), 'dashboard-teams-')), 'teams.yaml');
  writeFileSync(teamsFile, TEAMS);
  const egressFile = join(mkdtempSync(join(tmpdir(), 'dashboard-egress-')), 'egress.yaml');
  writeFileSync(egressFile, EGRESS);
  sim = await simulatedStack('dashboard_e2e', TOKEN, {
    PULLWATCH_TEAMS_FILE: teamsFile,
    PULLWATCH_DOCKERHUB_EGRESS_FILE: egressFile,
  });
  stack = sim.stack;
  // Docker Hub refusing an account the settings do not know (dev-ap-south's `builds`, no team's), sent as a
  // cluster sends it: the account is known from its 429 only.
  const at = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const sent = await fetch(`${stack.ingestUrl}/v1/k8s-events?cluster=dev-ap-south`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.ingestToken}` },
    body: JSON.stringify([
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'builder-1.g1', namespace: 'builds', uid: 'ghost-bot-429' },
        involvedObject: { kind: 'Pod', name: 'builder-1', namespace: 'builds', fieldPath: 'spec.containers{builder}' },
        source: { component: 'kubelet', host: 'dev-ap-1' },
        reason: 'Failed',
        message: `Failed to pull image "busybox:1.36": ${pullErrorDetail('dockerhub_account_rate_limit', 'busybox:1.36', 'containerd', { account: 'ghost-bot' })}`,
        count: 1,
        firstTimestamp: at,
        lastTimestamp: at,
      },
    ]),
  });
  expect(await sent.json()).toEqual({ accepted: 1, filtered: 0, received: 1 });
  await until(async () => {
    const q = await api<Quota>('/v1/quota/docker-hub');
    return q.accounts.some((a) => a.account === 'ghost-bot') ? true : null;
  }, "ghost-bot's 429 in the quota");
  // The scenario's history is in: the quay.io fleet incident, and the typo'd ngnix Pods stuck.
  await until(async () => {
    const r = await api<{ incidents: Incident[] }>('/v1/incidents?status=all');
    return r.incidents.some((i) => i.scope === 'fleet' && i.registry === 'quay.io') ? true : null;
  }, 'the quay.io fleet incident');
  await until(async () => {
    const r = await api<{ pods: Stuck[] }>('/v1/pods/stuck');
    return r.pods.some((p) => p.image === 'ngnix:1.27.3' && p.suggestion === 'nginx:1.27.3') ? true : null;
  }, 'the ngnix typo stuck');
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
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await sim?.stop();
});

/** A page on the dashboard with its console errors collected, loaded with the view `hash`. */
async function open(width: number, height: number, hash = '') {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${stack.apiUrl}/#token=${TOKEN}${hash ? `&${hash}` : ''}`);
  return { page, errors };
}

/** Runs `use` on a fresh dashboard page (see open), closed afterwards whatever happens. */
async function withPage<T>(
  view: { width: number; height: number; hash?: string },
  use: (p: { page: Page; errors: string[] }) => Promise<T>,
): Promise<T> {
  const p = await open(view.width, view.height, view.hash);
  try {
    return await use(p);
  } finally {
    await p.page.close();
  }
}

/** Waits until the page has rendered the view (range, cluster, registry, team) completely. */
async function rendered(page: Page, view: { range?: string; cluster?: string; registry?: string; team?: string } = {}) {
  const key =
    `range=${view.range ?? '24h'}&cluster=${view.cluster ?? ''}&registry=${view.registry ?? ''}` +
    `&team=${view.team ?? ''}`;
  await page.waitForFunction(
    (k) => document.body.dataset.view === k && document.body.dataset.loading === 'false',
    key,
    {
      timeout: 30_000,
    },
  );
}

/** Each body row of a table: its cells' whole text (truncated names keep their full text). */
const rows = (page: Page, id: string) =>
  page.evaluate(
    (tid) =>
      [...document.querySelectorAll(`#${tid} tbody tr`)].map((tr) =>
        [...tr.children].map((c) => (c.textContent ?? '').trim()),
      ),
    id,
  );
const firstColumn = async (page: Page, id: string) => (await rows(page, id)).map((r) => r[0]);
const openerKeys = (page: Page, id: string) =>
  page.evaluate((tid) => [...document.querySelectorAll(`#${tid} button.open`)].map((b) => b.dataset.key ?? ''), id);

/** Panels that scroll sideways, and elements wider than (or sticking out of) their panel. */
function layoutProblems(page: Page, panels: string) {
  return page.evaluate((selector) => {
    const problems: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) problems.push(`page: scrollWidth ${doc.scrollWidth} > ${doc.clientWidth}`);
    for (const panel of document.querySelectorAll(selector)) {
      if (panel.scrollWidth > panel.clientWidth)
        problems.push(`${panel.id}: scrollWidth ${panel.scrollWidth} > clientWidth ${panel.clientWidth}`);
      const box = panel.getBoundingClientRect();
      // The chart's labels stay inside the chart (an SVG clips what sticks out).
      for (const svg of panel.querySelectorAll('svg')) {
        const sb = svg.getBoundingClientRect();
        for (const t of svg.querySelectorAll('text')) {
          const r = t.getBoundingClientRect();
          if (r.left < sb.left - 0.5 || r.right > sb.right + 0.5)
            problems.push(
              `${panel.id}: chart label "${t.textContent}" ${Math.round(r.left)}–${Math.round(r.right)} ` +
                `outside ${Math.round(sb.left)}–${Math.round(sb.right)}`,
            );
        }
      }
      for (const el of panel.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        if (r.left < box.left - 0.5 || r.right > box.right + 0.5)
          problems.push(
            `${panel.id}: <${el.tagName.toLowerCase()} ` +
              `class="${el.getAttribute('class') ?? ''}"> ${Math.round(r.left)}–${Math.round(r.right)} ` +
              `outside ${Math.round(box.left)}–${Math.round(box.right)}`,
          );
      }
    }
    return problems;
  }, panels);
}

/** Long enough for the page's refresh every 10 s to catch up with the API. */
const REFRESHED = { timeout: 25_000, interval: 500 };

const PANELS = [
  'p-trend',
  'p-registries',
  'p-incidents',
  'p-stuck',
  'p-hotspots',
  'p-images',
  'p-quota',
  'p-recovery',
  'p-risks',
];

describe('the dashboard in a real browser', () => {
  for (const [width, height] of [
    [1280, 800],
    [1920, 1080],
  ] as const) {
    it(`fits ${width}×${height}: no panel scrolls sideways, no element is wider than its panel`, async () => {
      await withPage({ width: width, height: height }, async ({ page, errors }) => {
        await rendered(page);
        await page.waitForSelector('#trend-chart svg polyline');
        expect(await page.evaluate(() => [...document.querySelectorAll('main > section')].map((s) => s.id))).toEqual(
          PANELS,
        );
        expect((await firstColumn(page, 'registries')).length).toBeGreaterThan(2);
        expect((await rows(page, 'stuck')).length).toBeGreaterThan(0);
        expect(await layoutProblems(page, 'main > section')).toEqual([]);
        // Long names are cut with an ellipsis and whole in their tooltip.
        const cut = await page.evaluate(() =>
          [...document.querySelectorAll('main .trunc')]
            .filter((e) => e.scrollWidth > e.clientWidth)
            .map((e) => ({ text: e.textContent, title: e.title })),
        );
        expect(cut.length).toBeGreaterThan(0);
        for (const c of cut) expect(c.title).toBe(c.text);
        await page.screenshot({ path: join(OUT, `dashboard-${width}x${height}.png`), fullPage: true });
        expect(errors).toEqual([]);
      });
    });
  }

  it('filters every panel by registry and cluster through the URL hash, exactly', async () => {
    await withPage({ width: 1280, height: 800 }, async ({ page, errors }) => {
      await rendered(page);
      const all = await firstColumn(page, 'registries');
      expect(all).toContain('quay.io');
      expect(all).toContain('docker.io');

      const asked: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/v1/')) asked.push(r.url());
      });
      await page.selectOption('#f-registry', 'quay.io');
      await rendered(page, { registry: 'quay.io' });
      await expect.poll(() => new URL(page.url()).hash).toBe('#range=24h&registry=quay.io');
      // The routes that take a registry get it as a parameter; the others are filtered on their items.
      const params = (route: string) =>
        asked.filter((u) => new URL(u).pathname === route).map((u) => new URL(u).searchParams.get('registry'));
      expect(params('/v1/failures')).toContain('quay.io');
      expect(params('/v1/hotspots/rate-limit')).toContain('quay.io');
      expect(params('/v1/trends')).toContain('quay.io');

      expect(await firstColumn(page, 'registries')).toEqual(['quay.io']);
      expect(await page.locator('#trend-legend span').allTextContents()).toEqual(['quay.io']);
      await expect
        .poll(async () => {
          const day = new Date(Date.now() - 24 * 3600_000).toISOString();
          const incidents = await api<{ incidents: Incident[] }>(`/v1/incidents?status=all&from=${day}`);
          return {
            page: (await openerKeys(page, 'incidents')).sort(),
            api: incidents.incidents
              .filter((i) => i.registry === 'quay.io')
              .map((i) => `incident:${i.id}`)
              .sort(),
          };
        }, REFRESHED)
        .toSatisfy((v: { page: string[]; api: string[] }) => JSON.stringify(v.page) === JSON.stringify(v.api));
      expect(await openerKeys(page, 'incidents')).not.toEqual([]);
      await expect
        .poll(async () => {
          const day = new Date(Date.now() - 24 * 3600_000).toISOString();
          const f = await api<{ failures: Failure[] }>(`/v1/failures?registry=quay.io&limit=1000&from=${day}`);
          const byImage = new Map<string, number>();
          for (const x of f.failures) byImage.set(x.image, (byImage.get(x.image) ?? 0) + x.occurrences);
          const want = [...byImage.entries()]
            .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
            .slice(0, 10)
            .map(([image, n]) => [image, n]);
          const got = (await rows(page, 'images')).map((r) => [r[0], Number(r[2])]);
          return JSON.stringify(got) === JSON.stringify(want);
        }, REFRESHED)
        .toBe(true);
      expect(await firstColumn(page, 'images')).toEqual(['quay.io/prometheus/node-exporter:v1.8.2']);
      await expect
        .poll(async () => {
          const s = await api<{ pods: Stuck[] }>('/v1/pods/stuck');
          const want = s.pods
            .filter((p) => p.registry === 'quay.io')
            .map((p) => `${p.cluster}/${p.namespace}/${p.pod}`);
          const got = await page.evaluate(() =>
            [...document.querySelectorAll('#stuck tbody tr')].map(
              (tr) => (tr.querySelector('th .trunc') ?? tr.querySelector('td'))?.textContent,
            ),
          );
          return JSON.stringify(got) === JSON.stringify(want.length ? want : ['no stuck Pods']);
        }, REFRESHED)
        .toBe(true);
      expect(await rows(page, 'hotspots')).toEqual([['no rate limiting in this view']]);
      expect(await rows(page, 'quota')).toEqual([['Docker Hub (docker.io) only']]);
      expect(await firstColumn(page, 'recovery')).toEqual(['quay.io']);

      // docker.io in prod-us-east: the rate-limit hotspot alone, and that cluster's egress alone.
      await page.selectOption('#f-registry', 'docker.io');
      await rendered(page, { registry: 'docker.io' });
      await page.selectOption('#f-cluster', 'prod-us-east');
      await rendered(page, { cluster: 'prod-us-east', registry: 'docker.io' });
      await expect.poll(() => new URL(page.url()).hash).toBe('#range=24h&cluster=prod-us-east&registry=docker.io');
      expect((await rows(page, 'hotspots')).map((r) => r.slice(0, 2))).toEqual([['docker.io', 'prod-us-east']]);
      expect(await firstColumn(page, 'quota')).toEqual(['cluster:prod-us-east']);
      expect(await firstColumn(page, 'registries')).toEqual(['docker.io']);
      for (const key of await openerKeys(page, 'incidents')) {
        const inc = (await api<{ incidents: Incident[] }>('/v1/incidents?status=all')).incidents.find(
          (i) => `incident:${i.id}` === key,
        );
        expect(inc?.registry).toBe('docker.io');
        expect(inc?.clusters).toContain('prod-us-east');
      }

      // The link reproduces the view in a fresh page.
      const link = new URL(page.url()).hash.slice(1);
      await withPage({ width: 1280, height: 800, hash: link }, async (again) => {
        await rendered(again.page, { cluster: 'prod-us-east', registry: 'docker.io' });
        expect(await again.page.inputValue('#f-registry')).toBe('docker.io');
        expect(await again.page.inputValue('#f-cluster')).toBe('prod-us-east');
        expect(await firstColumn(again.page, 'quota')).toEqual(['cluster:prod-us-east']);
        expect(again.errors).toEqual([]);
      });

      // Back to everything.
      await page.selectOption('#f-cluster', '');
      await page.selectOption('#f-registry', '');
      await rendered(page);
      await expect.poll(() => new URL(page.url()).hash).toBe('#range=24h');
      expect((await firstColumn(page, 'registries')).sort()).toEqual([...all].sort());
      expect(errors).toEqual([]);
    });
  });

  it('filters every panel by team (from the mapping file) through the URL hash, exactly', async () => {
    await withPage({ width: 1280, height: 800 }, async ({ page, errors }) => {
      await rendered(page);
      expect(await page.locator('#f-team option').allTextContents()).toEqual([
        'all teams',
        'payments',
        'search',
        'storefront',
      ]);
      const everyone = (await rows(page, 'registries')).map((r) => [r[0], Number(r[1]), Number(r[2])]);

      const asked: string[] = [];
      const answers = new Map<string, unknown>();
      page.on('request', (r) => {
        if (r.url().includes('/v1/')) asked.push(r.url());
      });
      // The latest answer of each route per team and cluster the page asked for.
      const answerKey = (route: string, team: string, cluster = '') => `${route} ${team} ${cluster}`;
      page.on('response', async (r) => {
        const u = new URL(r.url());
        const team = u.searchParams.get('team');
        if (team && r.ok())
          answers.set(answerKey(u.pathname, team, u.searchParams.get('cluster') ?? ''), await r.json());
      });
      /** The registries table equals the page's latest answer for the view (a refresh may land between: polled). */
      const registriesShown = (team: string, cluster = '') =>
        expect
          .poll(async () => {
            const body = answers.get(answerKey('/v1/registries', team, cluster)) as
              | { registries: Registry[] }
              | undefined;
            const want = body?.registries.map((r) => [r.registry, r.failures, r.successes]);
            const got = (await rows(page, 'registries')).map((r) => [r[0], Number(r[1]), Number(r[2])]);
            return JSON.stringify(got) === JSON.stringify(want);
          }, REFRESHED)
          .toBe(true);
      await page.selectOption('#f-team', 'payments');
      await rendered(page, { team: 'payments' });
      await expect.poll(() => new URL(page.url()).hash).toBe('#range=24h&team=payments');
      expect(await page.textContent('#h-registries')).toBe('Registries (last 24 h · team payments)');
      // Every panel's route gets the team, but the Docker Hub quota's: that is per egress address.
      const teamParam = (route: string) =>
        asked.filter((u) => new URL(u).pathname === route).map((u) => new URL(u).searchParams.get('team'));
      for (const route of [
        '/v1/registries',
        '/v1/hotspots/rate-limit',
        '/v1/incidents',
        '/v1/pods/stuck',
        '/v1/failures',
        '/v1/recovery',
        '/v1/risks',
        '/v1/trends',
      ])
        expect(teamParam(route), route).toContain('payments');
      expect(teamParam('/v1/quota/docker-hub')).not.toContain('payments');

      await registriesShown('payments');
      const mine = (await rows(page, 'registries')).map((r) => [r[0], Number(r[1]), Number(r[2])]);
      // payments pulls from the private registry (the missing pull secret) and has fewer pulls than everyone.
      expect(mine.map((r) => r[0])).toContain('registry.corp.example:5000');
      const total = (xs: (string | number)[][]) => xs.reduce((n, r) => n + Number(r[1]) + Number(r[2]), 0);
      expect(total(mine)).toBeGreaterThan(0);
      expect(total(mine)).toBeLessThan(total(everyone));
      await expect
        .poll(async () => {
          const body = answers.get(answerKey('/v1/pods/stuck', 'payments')) as { pods: Stuck[] } | undefined;
          const want = body?.pods.map((p) => `${p.cluster}/${p.namespace}/${p.pod}`) ?? [];
          const got = await page.evaluate(() =>
            [...document.querySelectorAll('#stuck tbody tr')].map(
              (tr) => (tr.querySelector('th .trunc') ?? tr.querySelector('td'))?.textContent,
            ),
          );
          return JSON.stringify(got) === JSON.stringify(want.length ? want : ['no stuck Pods']);
        }, REFRESHED)
        .toBe(true);
      // The Pods stuck now are payments' (the ledger without a pull secret), not storefront's typo'd ngnix.
      const stuckNow = await page.evaluate(() =>
        [...document.querySelectorAll('#stuck tbody th .trunc:first-child')].map((e) => e.textContent ?? ''),
      );
      expect(stuckNow.length).toBeGreaterThan(0);
      for (const pod of stuckNow) expect(pod).toMatch(/^(prod-eu-west|staging-eu)\/payments\//);
      // The quota panel: the egresses and accounts of the team's clusters, whole (ci-bot pulls in staging-eu).
      const quota = await api<Quota>('/v1/quota/docker-hub');
      const payments = (q: { clusters: string[] }) =>
        q.clusters.some((c) => c === 'prod-eu-west' || c === 'staging-eu');
      expect(await firstColumn(page, 'quota')).toEqual([
        ...quota.egresses.filter(payments).map((q) => q.egress),
        ...quota.accounts.filter(payments).map((q) => `account: ${q.account}`),
      ]);
      expect(await firstColumn(page, 'quota')).toContain('account: ci-bot');
      expect(await firstColumn(page, 'quota')).not.toContain('cluster:prod-us-east');

      // The team filter selects exactly what the namespace filter selects for the file's fleet-wide entry
      // (a window ending a minute ago: no pull still arriving in it).
      const to = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
      const fixed = `from=${new Date(to.getTime() - 24 * 3600_000).toISOString()}&to=${to.toISOString()}`;
      const byTeam = await api<{ registries: Registry[] }>(`/v1/registries?${fixed}&team=payments`);
      const byNamespace = await api<{ registries: Registry[] }>(`/v1/registries?${fixed}&namespace=payments`);
      expect(byTeam.registries.length).toBeGreaterThan(0);
      expect(byTeam.registries).toEqual(byNamespace.registries);

      // Storefront in one cluster: prod-us-east's shop.
      await page.selectOption('#f-team', 'storefront');
      await page.selectOption('#f-cluster', 'prod-us-east');
      await rendered(page, { cluster: 'prod-us-east', team: 'storefront' });
      await expect.poll(() => new URL(page.url()).hash).toBe('#range=24h&cluster=prod-us-east&team=storefront');
      await registriesShown('storefront', 'prod-us-east');
      const shopUs = await api<{ registries: Registry[] }>(
        `/v1/registries?${fixed}&cluster=prod-us-east&team=storefront`,
      );
      const shopUsByNamespace = await api<{ registries: Registry[] }>(
        `/v1/registries?${fixed}&cluster=prod-us-east&namespace=shop`,
      );
      expect(shopUs.registries.length).toBeGreaterThan(0);
      expect(shopUs.registries).toEqual(shopUsByNamespace.registries);
      expect(await firstColumn(page, 'quota')).toEqual(['cluster:prod-us-east']);

      // A team nobody has (a stale link): every panel is empty, not an error.
      await withPage({ width: 1280, height: 800, hash: 'range=24h&team=nobody' }, async (nobody) => {
        await rendered(nobody.page, { team: 'nobody' });
        expect(await nobody.page.inputValue('#f-team')).toBe('nobody');
        expect(await rows(nobody.page, 'registries')).toEqual([['no pulls in this view']]);
        expect(await rows(nobody.page, 'stuck')).toEqual([['no stuck Pods']]);
        expect(await rows(nobody.page, 'images')).toEqual([['no failures in this view']]);
        expect(await rows(nobody.page, 'incidents')).toEqual([['no incidents in this view']]);
        expect(await rows(nobody.page, 'quota')).toEqual([['no Docker Hub pulls in the window']]);
        expect(await nobody.page.textContent('#trend-chart')).toBe('no data in the last 24 h');
        expect(nobody.errors).toEqual([]);
      });

      // Back to everyone.
      await page.selectOption('#f-team', '');
      await page.selectOption('#f-cluster', '');
      await rendered(page);
      await expect.poll(() => new URL(page.url()).hash).toBe('#range=24h');
      expect(errors).toEqual([]);
    });
  });

  it('applies the time range to every windowed route; the chart spans only the buckets with pulls', async () => {
    await withPage({ width: 1280, height: 800 }, async ({ page, errors }) => {
      await rendered(page);
      const trendBodies = new Map<string, { series: Bucket[] }>();
      const asked: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/v1/')) asked.push(r.url());
      });
      page.on('response', async (r) => {
        if (new URL(r.url()).pathname === '/v1/trends') trendBodies.set(r.url(), await r.json());
      });
      for (const [range, interval, hours, heading] of [
        ['1h', '1m', 1, 'last 1 h, 1-minute'],
        ['7d', '1h', 168, 'last 7 d, hourly'],
        ['24h', '1h', 24, 'last 24 h, hourly'],
      ] as const) {
        asked.length = 0;
        trendBodies.clear();
        await page.selectOption('#f-range', range);
        await rendered(page, { range });
        await expect.poll(() => new URL(page.url()).hash).toBe(`#range=${range}`);
        expect(await page.textContent('#status')).toBe(
          `updated · last ${range.replace(/(\d+)/, '$1 ')} · refreshes every 10 s`,
        );
        await page.screenshot({ path: join(OUT, `dashboard-range-${range}-1280x800.png`) });
        expect(await layoutProblems(page, 'main > section')).toEqual([]);
        expect(await page.textContent('#h-trend')).toBe(`Failure rate by registry (${heading})`);
        expect(await page.textContent('#h-registries')).toBe(`Registries (last ${range.replace(/(\d+)/, '$1 ')})`);
        // The view's own requests (a periodic refresh of the previous view may still be answering):
        // every windowed route asked for exactly this span, the trends in this range's buckets.
        const span = (u: string) => {
          const q = new URL(u).searchParams;
          return Date.parse(q.get('to') ?? '') - Date.parse(q.get('from') ?? '');
        };
        const mine = asked.filter((u) => span(u) === hours * 3600_000);
        expect(new Set(mine.map((u) => new URL(u).pathname))).toEqual(
          new Set([
            '/v1/registries',
            '/v1/hotspots/rate-limit',
            '/v1/incidents',
            '/v1/failures',
            '/v1/trends',
            '/v1/recovery',
            '/v1/risks',
            '/v1/teams',
          ]),
        );
        for (const u of mine.filter((x) => new URL(x).pathname === '/v1/trends'))
          expect(new URL(u).searchParams.get('interval')).toBe(interval);
        // The chart's span: the first to the last bucket with pulls in the page's latest complete set of series.
        const step = { '1m': 60_000, '1h': 3_600_000 }[interval];
        const legend = await page.locator('#trend-legend span').count();
        expect(legend).toBeGreaterThan(0);
        let withPulls: number[] = [];
        await expect
          .poll(async () => {
            const batches = new Map<string, { series: Bucket[] }[]>();
            for (const [u, body] of trendBodies) {
              if (span(u) !== hours * 3600_000) continue;
              const to = new URL(u).searchParams.get('to') ?? '';
              batches.set(to, [...(batches.get(to) ?? []), body]);
            }
            const latest = [...batches.entries()]
              .filter(([, b]) => b.length === legend)
              .sort((a, b) => (a[0] < b[0] ? -1 : 1))
              .at(-1)?.[1];
            if (!latest) return 'no complete set of series yet';
            const n = latest[0]!.series.length;
            withPulls = Array.from({ length: n }, (_, i) => i).filter((i) =>
              latest.some((b) => b.series[i]!.failures + b.series[i]!.successes > 0),
            );
            const svg = page.locator('#trend-chart svg');
            const shown = { first: await svg.getAttribute('data-first'), last: await svg.getAttribute('data-last') };
            const want = {
              first: latest[0]!.series[withPulls[0]!]!.ts,
              last: new Date(Date.parse(latest[0]!.series[withPulls.at(-1)!]!.ts) + step).toISOString(),
            };
            return JSON.stringify(shown) === JSON.stringify(want) ? 'equal' : JSON.stringify({ shown, want });
          }, REFRESHED)
          .toBe('equal');
        // The simulated fleet has 90 minutes of history: the rest of a day or a week is marked "no data".
        if (range !== '1h') {
          expect(withPulls[0]).toBeGreaterThan(0);
          expect(await page.textContent('#trend-note')).toMatch(/^Pulls seen from .+; no data from .+ \(not drawn\)\./);
        }
      }

      // No pulls at all in the view: the chart says so instead of drawing flat lines.
      await withPage({ width: 1280, height: 800, hash: 'range=1h&registry=none.example' }, async (none) => {
        await rendered(none.page, { range: '1h', registry: 'none.example' });
        expect(await none.page.textContent('#trend-chart')).toBe('no data in the last 1 h');
        expect(await none.page.locator('#trend-chart svg').count()).toBe(0);
        expect(none.errors).toEqual([]);
      });
      expect(errors).toEqual([]);
    });
  });

  it(
    'drills down from a registry (click) and an incident ' + '(keyboard) to causes, clusters, workloads and Pods',
    async () => {
      await withPage({ width: 1280, height: 800 }, async ({ page, errors }) => {
        await rendered(page);
        // A click anywhere on the registry's row.
        const failuresAsked = page.waitForResponse(
          (r) =>
            new URL(r.url()).pathname === '/v1/failures' &&
            new URL(r.url()).searchParams.get('registry') === 'docker.io',
        );
        await page
          .locator('#registries tbody tr', { has: page.locator('[data-key="registry:docker.io"]') })
          .locator('td')
          .first()
          .click();
        const failures = (await (await failuresAsked).json()) as { failures: Failure[] };
        const dialog = page.locator('#detail');
        await dialog.locator('#d-stuck').waitFor();
        expect(await dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(true);
        expect(await page.textContent('#detail-title')).toBe('Registry docker.io');
        await expect.poll(() => new URL(page.url()).hash).toBe('#range=24h&detail=registry%3Adocker.io');
        const byCluster = new Map<string, number>();
        for (const f of failures.failures) byCluster.set(f.cluster, (byCluster.get(f.cluster) ?? 0) + f.occurrences);
        const clusterRows = (
          await page.evaluate(() =>
            [...document.querySelectorAll('#detail section[aria-labelledby="d-clusters"] tbody tr')].map((tr) =>
              [...tr.children].slice(0, 2).map((c) => (c.textContent ?? '').trim()),
            ),
          )
        ).map(([c, n]) => [c, Number(n)]);
        expect(clusterRows).toEqual([...byCluster.entries()].sort((a, b) => b[1] - a[1]));
        // The scenario: rate limits in prod-us-east, the typo'd ngnix in staging-eu, a full disk in prod-eu-west;
        // and ghost-bot's 429 in dev-ap-south (beforeAll).
        expect(clusterRows.map((r) => r[0]).sort()).toEqual([
          'dev-ap-south',
          'prod-eu-west',
          'prod-us-east',
          'staging-eu',
        ]);
        const causes = await page.evaluate(() =>
          [...document.querySelectorAll('#detail section[aria-labelledby="d-causes"] tbody th')].map(
            (c) => c.textContent,
          ),
        );
        expect([...causes].sort()).toEqual(
          [...new Set(failures.failures.map((f) => f.cause.replaceAll('_', ' ')))].sort(),
        );
        const workloads = await page.evaluate(() =>
          [...document.querySelectorAll('#detail section[aria-labelledby="d-workloads"] tbody th .trunc')].map(
            (c) => c.textContent,
          ),
        );
        expect(workloads).toContain('staging-eu/shop/ngnix');
        const stuck = await page.evaluate(() =>
          [...document.querySelectorAll('#detail section[aria-labelledby="d-stuck"] tbody tr')].map(
            (tr) => tr.textContent,
          ),
        );
        const typo = stuck.filter((t) => t?.includes('ngnix:1.27.3'));
        expect(typo.length).toBeGreaterThan(0);
        for (const t of typo)
          expect(t).toContain('suggested image: nginx:1.27.3 — a similar image pulls in ' + 'the fleet');
        expect(await layoutProblems(page, 'dialog[open]')).toEqual([]);
        await page.screenshot({ path: join(OUT, 'dashboard-drilldown-1280x800.png') });
        await page.locator('#d-stuck').scrollIntoViewIfNeeded();
        await page.screenshot({ path: join(OUT, 'dashboard-drilldown-pods-1280x800.png') });
        await page.keyboard.press('Escape');
        await expect.poll(() => dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(false);
        await expect.poll(() => new URL(page.url()).hash).toBe('#range=24h');

        // From the keyboard: Tab to the quay.io fleet incident, Enter opens it, Escape closes and gives focus back.
        const fleet = (await api<{ incidents: Incident[] }>('/v1/incidents?status=all')).incidents.find(
          (i) => i.scope === 'fleet' && i.registry === 'quay.io',
        )!;
        const button = page.locator(`#incidents button[data-key="incident:${fleet.id}"]`);
        await page.locator('#f-registry').focus();
        for (let k = 0; k < 40 && !(await button.evaluate((b) => b === document.activeElement)); k++)
          await page.keyboard.press('Tab');
        expect(await button.evaluate((b) => b === document.activeElement)).toBe(true);
        const outline = await button.evaluate((b) => getComputedStyle(b));
        expect(outline.outlineStyle).toBe('solid');
        expect(Number.parseFloat(outline.outlineWidth)).toBeGreaterThanOrEqual(2);
        await page.keyboard.press('Enter');
        await dialog.locator('#d-stuck').waitFor();
        expect(await page.textContent('#detail-title')).toBe('Incident: quay.io · registry_unavailable');
        expect(
          await page.evaluate(() =>
            [...document.querySelectorAll('#detail section[aria-labelledby="d-clusters"] tbody th')]
              .map((c) => c.textContent)
              .sort(),
          ),
        ).toEqual(['prod-eu-west', 'prod-us-east', 'staging-eu']);
        expect(
          await page.evaluate(() =>
            [...document.querySelectorAll('#detail section[aria-labelledby="d-causes"] tbody th')].map(
              (c) => c.textContent,
            ),
          ),
        ).toEqual(['registry unavailable']);
        await page.screenshot({ path: join(OUT, 'dashboard-drilldown-incident-1280x800.png') });
        await page.keyboard.press('Escape');
        await expect.poll(() => dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(false);
        expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.key)).toBe(
          `incident:${fleet.id}`,
        );

        // Space on a registry's button; and a link with the detail opens it.
        await page.locator('#registries button[data-key="registry:quay.io"]').focus();
        await page.keyboard.press('Space');
        await dialog.locator('#d-stuck').waitFor();
        expect(await page.textContent('#detail-title')).toBe('Registry quay.io');
        await page.keyboard.press('Escape');
        await withPage({ width: 1280, height: 800, hash: 'range=24h&detail=registry%3Aghcr.io' }, async (linked) => {
          await linked.page.locator('#detail #d-stuck').waitFor();
          expect(await linked.page.textContent('#detail-title')).toBe('Registry ghcr.io');
          expect(linked.errors).toEqual([]);
        });
        expect(errors).toEqual([]);
      });
    },
  );

  it('shows Docker Hub accounts below the egresses, with their level, filtered by cluster and team', async () => {
    await withPage({ width: 1280, height: 800 }, async ({ page, errors }) => {
      await rendered(page);
      // Idle: 0 of Docker Hub Personal's 200 per 6 h. Known from its 429 only: no count, refused within the
      // hour, so empty now.
      const CI_BOT = ['account: ci-bot', '0 / 200', '0', '', ''];
      const GHOST = ['account: ghost-bot', 'known from 429s only', '', 'now', '1'];
      const all = await rows(page, 'quota');
      expect(all.slice(-2)).toEqual([CI_BOT, GHOST]);
      expect(all.slice(0, -2).map((r) => r[0]?.split(':')[0])).toEqual(all.slice(0, -2).map(() => 'cluster'));
      const levels = () =>
        page.evaluate(() =>
          [...document.querySelectorAll('#quota tbody tr')]
            .filter((tr) => tr.querySelector('th')?.textContent?.startsWith('account: '))
            .map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('.quota')?.className]),
        );
      expect(await levels()).toEqual([
        ['account: ci-bot', 'quota quota-ok'],
        ['account: ghost-bot', 'quota quota-full quota-note'],
      ]);
      expect(await page.getAttribute('#quota tbody tr:last-child td:last-child span', 'title')).toMatch(
        /^last at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/,
      );

      await page.selectOption('#f-cluster', 'dev-ap-south');
      await rendered(page, { cluster: 'dev-ap-south' });
      expect(await firstColumn(page, 'quota')).toEqual(['cluster:dev-ap-south', 'account: ghost-bot']);
      expect((await rows(page, 'quota'))[1]).toEqual(GHOST);
      await page.selectOption('#f-cluster', 'staging-eu');
      await rendered(page, { cluster: 'staging-eu' });
      expect(await firstColumn(page, 'quota')).toEqual(['cluster:staging-eu', 'account: ci-bot']);
      // payments' clusters hold ci-bot, not dev-ap-south's ghost-bot.
      await page.selectOption('#f-cluster', '');
      await page.selectOption('#f-team', 'payments');
      await rendered(page, { team: 'payments' });
      expect((await rows(page, 'quota')).filter((r) => r[0]?.startsWith('account: '))).toEqual([CI_BOT]);
      expect(errors).toEqual([]);
    });
  });

  it('is accessible: labelled controls, header scopes, a live status, text contrast of at least 4.5:1', async () => {
    await withPage({ width: 1280, height: 800 }, async ({ page, errors }) => {
      await rendered(page);
      const a11y = await page.evaluate(() => ({
        unlabelled: [...document.querySelectorAll('select, input:not([type=hidden])')]
          .filter((c) => !document.querySelector(`label[for="${c.id}"]`))
          .map((c) => c.id),
        headersWithoutScope: [...document.querySelectorAll('main th')]
          .filter((th) => th.getAttribute('scope') !== (th.closest('thead') ? 'col' : 'row'))
          .map((th) => th.textContent),
        status: [
          document.getElementById('status')?.getAttribute('role'),
          document.getElementById('status')?.getAttribute('aria-live'),
        ],
      }));
      expect(a11y).toEqual({ unlabelled: [], headersWithoutScope: [], status: ['status', 'polite'] });
      expect(await lowContrast(page)).toEqual([]);
      // The live region is not re-announced by the refresh every 10 s: only the time beside it changes.
      const before = { status: await page.textContent('#status'), at: await page.textContent('#updated-at') };
      await page.waitForFunction((at) => document.getElementById('updated-at')?.textContent !== at, before.at, {
        timeout: 25_000,
      });
      expect(await page.textContent('#status')).toBe(before.status);
      expect(before.status).toBe('updated · last 24 h · refreshes every 10 s');
      await page.locator('#registries button.open').first().click();
      await page.locator('#detail #d-stuck').waitFor();
      expect(await lowContrast(page)).toEqual([]);
      expect(errors).toEqual([]);
    });
  });
});

/** Visible text whose colour has less than 4.5:1 contrast with what is behind it (every gradient stop checked). */
function lowContrast(page: Page) {
  return page.evaluate(() => {
    type RGBA = [number, number, number, number];
    const parse = (c: string): RGBA[] =>
      [...c.matchAll(/rgba?\(([^)]+)\)/g)].map((m) => {
        const p = m[1]!
          .split(/[\s,/]+/)
          .filter(Boolean)
          .map(Number.parseFloat);
        return [p[0]!, p[1]!, p[2]!, p[3] === undefined ? 1 : m[1]!.includes('%') ? p[3] / 100 : p[3]];
      });
    const over = (top: RGBA, under: RGBA): RGBA => {
      const a = top[3] + under[3] * (1 - top[3]);
      const mix = (i: number) => (top[i]! * top[3] + under[i]! * under[3] * (1 - top[3])) / (a || 1);
      return [mix(0), mix(1), mix(2), a];
    };
    const lum = (c: RGBA) => {
      const ch = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2]);
    };
    const ratio = (a: RGBA, b: RGBA) => {
      const [l1, l2] = [lum(a), lum(b)].sort((x, y) => y - x);
      return (l1! + 0.05) / (l2! + 0.05);
    };
    /** Every background the element's text may sit on: its ancestors' colours blended, each gradient stop alone. */
    const backgrounds = (el: Element): RGBA[] => {
      const layers: { color: RGBA; image: RGBA[] }[] = [];
      const modal = document.querySelector('dialog[open]');
      for (let e: Element | null = el; e; e = e.parentElement) {
        const s = getComputedStyle(e);
        layers.push({ color: parse(s.backgroundColor)[0] ?? [0, 0, 0, 0], image: parse(s.backgroundImage) });
        if (e === modal) break;
      }
      let result: RGBA[] = [[255, 255, 255, 1]];
      for (const layer of layers.reverse()) {
        result = result.map((u) => over(layer.color, u));
        if (layer.image.length) result = result.flatMap((u) => [u, ...layer.image.map((g) => over(g, u))]);
      }
      return result;
    };
    const bad: string[] = [];
    const dialog = document.querySelector('dialog[open]');
    const scope = dialog ? [dialog] : [document.body];
    for (const root of scope)
      for (const el of root.querySelectorAll('*')) {
        if (el.closest('dialog') && el.closest('dialog') !== dialog) continue;
        if (el.tagName === 'OPTION' || el.tagName === 'SCRIPT') continue;
        const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent?.trim());
        if (!own) continue;
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height) continue;
        const s = getComputedStyle(el);
        const fg = parse(el instanceof SVGElement ? s.fill : s.color)[0]!;
        for (const bg of backgrounds(el)) {
          const c = ratio(over(fg, bg), bg);
          if (c < 4.5) {
            bad.push(
              `${el.tagName.toLowerCase()}.${el.getAttribute('class') ?? ''} ` +
                `"${el.textContent?.trim().slice(0, 30)}": ${c.toFixed(2)}`,
            );
            break;
          }
        }
      }
    return bad;
  });
}
