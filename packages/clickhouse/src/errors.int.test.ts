import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { testEndpoints } from '../../../test/support/endpoints.ts';
import { createClickHouse } from './client.ts';
import { ClickHouseQueryError, ClickHouseUnavailableError, queryRows } from './errors.ts';

describe('queryRows: typed errors from the real ClickHouse and from no ClickHouse', () => {
  const ch = createClickHouse({ ...testEndpoints().clickhouse });
  afterAll(() => ch.close());

  it('returns the rows', async () => {
    expect(await queryRows<{ n: number }>(ch, { query: 'SELECT 1 AS n' })).toEqual([{ n: 1 }]);
  });

  it(
    'a query the server refuses is a ClickHouseQueryError with its code, ' +
      'even when its text reads like a network error',
    async () => {
      const err = await queryRows(ch, { query: 'SELECT 1 FROM pw_ECONNREFUSED_timed_out.nope' }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ClickHouseQueryError);
      expect(err).toMatchObject({ code: '81', type: 'UNKNOWN_DATABASE' });
    },
  );

  it('nothing listening is a ClickHouseUnavailableError', async () => {
    const nobody = createClickHouse({ url: 'http://127.0.0.1:1', user: 'default', password: '' });
    try {
      const err = await queryRows(nobody, { query: 'SELECT 1' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClickHouseUnavailableError);
      expect((err as Error).message).toBe('ClickHouse is unreachable (ECONNREFUSED)');
    } finally {
      await nobody.close();
    }
  });

  it('a server that never answers is a ClickHouseUnavailableError once the deadline passes', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as { port: number };
    const hanging = createClickHouse({ url: `http://127.0.0.1:${port}`, user: 'default', password: '' });
    try {
      const err = await queryRows(hanging, { query: 'SELECT 1', timeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClickHouseUnavailableError);
      expect(sockets.length).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await hanging.close();
      await new Promise((r) => silent.close(r));
    }
  });
});
