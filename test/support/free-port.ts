import { createServer } from 'node:net';

/**
 * A port the OS hands out as free (listen on port 0, read it, close), for servers that must be told
 * their port before they start (a Kafka broker advertises its own; a child process binds it). Tests
 * never pick fixed ports: parallel runs and other helpers' engines would collide with them.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
