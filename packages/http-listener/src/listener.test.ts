import { describe, expect, it } from 'vitest';
import { startListener } from './listener.ts';

describe('startListener', () => {
  it('serves on the port it got, and on close lets the request in progress finish before resolving', async () => {
    let release: () => void = () => undefined;
    const listener = await startListener(
      (req, res) => {
        if (req.url === '/slow') release = () => res.end('done');
        else res.end('ok');
      },
      '127.0.0.1',
      0,
    );
    expect(listener.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${listener.url}/`)).text()).toBe('ok');

    const slow = fetch(`${listener.url}/slow`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 50));
    let closed = false;
    const closing = listener.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false); // still answering /slow
    await expect(fetch(`${listener.url}/`)).rejects.toThrow(); // no new connections
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
