import { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { startAnalyzerHttp } from './http.ts';

describe('the analyzer HTTP endpoint', () => {
  const registry = new Registry();
  new Counter({ name: 'pullwatch_analyzer_test_total', help: 'a counter', registers: [registry] }).inc(3);
  let ready = false;
  const listening = startAnalyzerHttp({ host: '127.0.0.1', port: 0 }, registry, () => ready);
  afterAll(async () => (await listening).close());

  it('is healthy at once, ready only while consuming, and serves its metrics', async () => {
    const { url } = await listening;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not ready', reason: 'not consuming (starting, or stopping)' });
    ready = true;
    const isReady = await fetch(`${url}/readyz`);
    expect(isReady.status).toBe(200);
    expect(await isReady.json()).toEqual({ status: 'ready' });
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('pullwatch_analyzer_test_total 3');
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
  });
});
