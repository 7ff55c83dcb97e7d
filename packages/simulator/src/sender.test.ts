import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emitted } from './fleet.ts';
import { sendEvents } from './sender.ts';

// A stand-in ingest that records what it is sent and answers as the collector does.
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
const server = createServer((req, res) => {
  seen.push({ url: req.url ?? '', headers: req.headers });
  req.resume();
  req.on('end', () => {
    if (req.headers.authorization !== 'Bearer sim-token-0123456789')
      res
        .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="pullwatch-ingest"' })
        .end(JSON.stringify({ error: { code: 'unauthorized', message: 'no token' } }));
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: 1 }));
  });
});
let endpoint = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

const emitted = (cluster: string) => ({ cluster, event: { kind: 'Event' } }) as unknown as Emitted;

describe('sendEvents', () => {
  it('sends the ingest token as a bearer token, per cluster', async () => {
    seen.length = 0;
    const r = await sendEvents(endpoint, [emitted('eu'), emitted('us')], { token: 'sim-token-0123456789' });
    expect(r).toEqual({ accepted: 2 });
    expect(seen.map((s) => [s.url, s.headers.authorization])).toEqual([
      ['/v1/k8s-events?cluster=eu', 'Bearer sim-token-0123456789'],
      ['/v1/k8s-events?cluster=us', 'Bearer sim-token-0123456789'],
    ]);
  });

  it('fails at once on 401 (no retry), with the collector’s answer', async () => {
    seen.length = 0;
    await expect(sendEvents(endpoint, [emitted('eu')])).rejects.toThrow(/collector answered 401: .*no token/);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });
});
