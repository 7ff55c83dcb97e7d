import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { POD_STATE_FORMAT, PULL_EVENT_FORMAT, RAW_EVENT_FORMAT } from './core/table-formats.ts';

describe("the analyzer's RowBinary formats", () => {
  const database = uniqueName('row_formats_it');
  const client = createClickHouse({ ...testEndpoints().clickhouse });
  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

  it(
    'name every column the migrations give their tables, ' + 'with its exact type (all but server-filled defaults)',
    async () => {
      await migrate(client, { database, ttlDays: 90 });
      for (const [table, format] of [
        ['raw_events', RAW_EVENT_FORMAT],
        ['pull_events', PULL_EVENT_FORMAT],
        ['pod_pull_state', POD_STATE_FORMAT],
      ] as const) {
        const rs = await client.query({
          query:
            'SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} AND ' +
            "default_kind = '' ORDER BY position",
          query_params: { db: database, t: table },
          format: 'JSONEachRow',
        });
        expect(
          format.columns.map(([name, type]) => ({ name, type })),
          table,
        ).toEqual(await rs.json());
      }
    },
  );
});
