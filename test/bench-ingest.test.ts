import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ingestBatches, makeEvents, newSeries, postBatches } from '../bench/ingest.ts';

describe('the bench ingest client', () => {
  let server: Server | null = null;
  afterEach(async () => {
    const s = server;
    server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  });

  /** A collector stand-in: answers each request with what `answer` decides for it (its 1-based number). */
  async function collector(answer: (n: number, body: string) => 'ok' | 'reset' | 503) {
    const seen: { cluster: string; uids: string[] }[] = [];
    let n = 0;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const a = answer(++n, body);
        if (a === 'reset') return req.socket.destroy();
        if (a === 503) return res.writeHead(503, { 'retry-after': '0' }).end('{}');
        const events = JSON.parse(body) as { metadata: { uid: string } }[];
        seen.push({ cluster: new URL(req.url!, 'http://x').searchParams.get('cluster')!, uids: [] });
        seen.at(-1)!.uids.push(...events.map((e) => e.metadata.uid));
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
  }

  it('makes every event exactly once, per cluster in arrays of up to 2000, the same as makeEvents', () => {
    const series = newSeries();
    const batches = [...ingestBatches(10_007, 3, series)];
    expect(batches.map((b) => [b.cluster, b.events])).toEqual([
      ['c0', 2000],
      ['c0', 1336],
      ['c1', 2000],
      ['c1', 1336],
      ['c2', 2000],
      ['c2', 1335],
    ]);
    const made = batches.flatMap((b) => (JSON.parse(b.body) as { metadata: { uid: string } }[]).map((e) => e));
    const expected = makeEvents(10_007, 3, series);
    expect(made).toHaveLength(10_007);
    expect(new Set(made.map((e) => e.metadata.uid)).size).toBe(10_007);
    const byUid = new Map(expected.map((e) => [(e.event.metadata as { uid: string }).uid, e.event]));
    for (const e of made) expect(e).toEqual(byUid.get(e.metadata.uid));
  });

  it('sends a request again after a 503 or a rejected fetch, counts both, and delivers every event once', async () => {
    // Request 2 is pushed back, request 4 has its connection reset before any answer.
    const { url, seen } = await collector((n) => (n === 2 ? 503 : n === 4 ? 'reset' : 'ok'));
    const stats = await postBatches(url, ingestBatches(9000, 2, newSeries()), { senders: 1 });
    expect({ ...stats, rejections: stats.rejections.length }).toEqual({
      accepted: 6,
      events: 9000,
      pushedBack: 1,
      rejected: 1,
      rejections: 1,
    });
    expect(seen.map((s) => [s.cluster, s.uids.length])).toEqual([
      ['c0', 2000],
      ['c0', 2000],
      ['c0', 500],
      ['c1', 2000],
      ['c1', 2000],
      ['c1', 500],
    ]);
    expect(new Set(seen.flatMap((s) => s.uids)).size).toBe(9000);
  });

  it('fails on an answer that sending again cannot fix', async () => {
    const { url } = await collector(() => 'ok');
    server!.removeAllListeners('request');
    server!.on('request', (_req, res) => res.writeHead(401).end('{"error":{"code":"unauthorized"}}'));
    await expect(postBatches(url, ingestBatches(10, 1, newSeries()))).rejects.toThrow(
      'ingest answered 401: {"error":{"code":"unauthorized"}}',
    );
  });
});
