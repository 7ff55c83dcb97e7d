import { describe, expect, it } from 'vitest';
import { loadMigrateConfig } from './config.ts';

describe('loadMigrateConfig', () => {
  it('has defaults and reads the shared variables', () => {
    expect(loadMigrateConfig({})).toEqual({
      database: 'pullwatch',
      cluster: undefined,
      ttlDays: 90,
      replicated: true,
      shards: [],
    });
    expect(
      loadMigrateConfig({
        PULLWATCH_CLICKHOUSE_DATABASE: 'pw_prod',
        PULLWATCH_CLICKHOUSE_CLUSTER: 'fleet',
        PULLWATCH_TTL_DAYS: '30',
        PULLWATCH_CLICKHOUSE_REPLICATED: 'false',
        PULLWATCH_CLICKHOUSE_SHARDS: 'http://ch1:8123, http://ch2:8123',
        // The analyzer's own settings are none of migrate's business, even when invalid.
        PULLWATCH_ANALYZER_BATCH_MAX_ROWS: 'lots',
      }),
    ).toEqual({
      database: 'pw_prod',
      cluster: 'fleet',
      ttlDays: 30,
      replicated: false,
      shards: ['http://ch1:8123', 'http://ch2:8123'],
    });
  });

  it('names every invalid setting', () => {
    expect(() => loadMigrateConfig({ PULLWATCH_CLICKHOUSE_DATABASE: 'x; DROP', PULLWATCH_TTL_DAYS: '0' })).toThrow(
      'invalid migration settings: PULLWATCH_CLICKHOUSE_DATABASE: a ClickHouse identifier; ' +
        'PULLWATCH_TTL_DAYS: Too small: expected number to be >=1',
    );
  });
});
