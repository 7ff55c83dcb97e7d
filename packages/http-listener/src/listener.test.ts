import { describe, expect, it } from 'vitest';
import { startListener } from './listener.ts';

describe('startListener', () => {
  it('serves on the port it got, and on close lets the request in progress finish before resolving', async () => {
    let release: () => void = () => undefined;
    let arrived: () => void = () => undefined;
    const slowArrived = new Promise<void>((r) => {
      arrived = r;
    });
    const listener = await startListener(
      (req, res) => {
        if (req.url === '/slow') {
          release = () => res.end('done');
          arrived();
        } else res.end('ok');
      },
      '127.0.0.1',
      0,
    );
    expect(listener.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${listener.url}/`)).text()).toBe('ok');

    const slow = fetch(`${listener.url}/slow`).then((r) => r.text());
    await slowArrived; // the server is handling /slow
    let closed = false;
    const closing = listener.close().then(() => {
      closed = true;
    });
    expect(listener.server.listening).toBe(false);
    await expect(fetch(`${listener.url}/`)).rejects.toThrow(); // no new connections
    expect(closed).toBe(false); // still answering /slow
    release();
    expect(await slow).toBe('done');
    await closing;
    expect(closed).toBe(true);
  });

  it('rejects when the port is taken', async () => {
    const first = await startListener((_req, res) => res.end(), '127.0.0.1', 0);
    const port = Number(new URL(first.url).port);
    await expect(startListener((_req, res) => res.end(), '127.0.0.1', port)).rejects.toThrow(/EADDRINUSE/);
    await first.close();
  });
});
