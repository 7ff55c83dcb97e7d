import { describe, expect, it } from 'vitest';
import { loadAnalyzerConfig } from './config.ts';

describe('loadAnalyzerConfig', () => {
  it('has the documented defaults', () => {
    const c = loadAnalyzerConfig({});
    expect(c).toMatchObject({
      topics: {
        events: { topic: 'k8s.events.v1', numPartitions: 6 },
        deadLetter: { topic: 'k8s.events.dlq.v1', numPartitions: 1 },
      },
      groupId: 'pullwatch-analyzer',
      database: 'pullwatch',
      clickhouseCluster: undefined,
      ttlDays: 90,
      stuckAfterMs: 600_000,
      stateTtlMs: 48 * 3_600_000,
    });
    expect(c.batch).toEqual({
      maxRows: 50_000,
      maxBytes: 4 * 1024 * 1024,
      minBytes: 1024 * 1024,
      maxWaitMs: 1000,
      partitionsConcurrently: 12,
    });
    expect(c.incidents).toMatchObject({ fleetMinClusters: 2, fleetWindowMs: 600_000 });
  });

  it('reads a sharded cluster without Keeper: not replicated, every shard URL for the migrations', () => {
    expect(loadAnalyzerConfig({})).toMatchObject({ clickhouseReplicated: true, clickhouseShards: [] });
    expect(
      loadAnalyzerConfig({
        PULLWATCH_CLICKHOUSE_CLUSTER: 'pullwatch',
        PULLWATCH_CLICKHOUSE_REPLICATED: 'false',
        PULLWATCH_CLICKHOUSE_SHARDS: 'http://127.0.0.1:29123, http://127.0.0.1:29124',
      }),
    ).toMatchObject({
      clickhouseCluster: 'pullwatch',
      clickhouseReplicated: false,
      clickhouseShards: ['http://127.0.0.1:29123', 'http://127.0.0.1:29124'],
    });
    expect(() => loadAnalyzerConfig({ PULLWATCH_CLICKHOUSE_SHARDS: 'shard-1' })).toThrow(/PULLWATCH_CLICKHOUSE_SHARDS/);
    expect(() => loadAnalyzerConfig({ PULLWATCH_CLICKHOUSE_REPLICATED: 'no' })).toThrow(
      /PULLWATCH_CLICKHOUSE_REPLICATED/,
    );
  });

  it('names the variable that is wrong', () => {
    expect(() => loadAnalyzerConfig({ PULLWATCH_ANALYZER_BATCH_MAX_ROWS: '0' })).toThrow(
      /PULLWATCH_ANALYZER_BATCH_MAX_ROWS/,
    );
    expect(() => loadAnalyzerConfig({ PULLWATCH_CLICKHOUSE_DATABASE: 'drop table;' })).toThrow(
      /PULLWATCH_CLICKHOUSE_DATABASE/,
    );
    expect(() => loadAnalyzerConfig({ PULLWATCH_INCIDENT_FLEET_MIN_CLUSTERS: '1' })).toThrow(
      /PULLWATCH_INCIDENT_FLEET_MIN_CLUSTERS/,
    );
  });
});
