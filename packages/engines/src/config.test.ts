import { describe, expect, it } from 'vitest';
import { loadEnginesConfig } from './config.ts';

describe('loadEnginesConfig: topology', () => {
  it('is single by default; the cluster topology has 3 brokers and 2 shards on the 29xxx ports', () => {
    expect(loadEnginesConfig({}).topology).toBe('single');
    const c = loadEnginesConfig({ PULLWATCH_TOPOLOGY: 'cluster' });
    expect(c.topology).toBe('cluster');
    expect(c.cluster).toEqual({
      kafka: [
        { id: 1, port: 29092, controllerPort: 29093 },
        { id: 2, port: 29094, controllerPort: 29095 },
        { id: 3, port: 29096, controllerPort: 29097 },
      ],
      clickhouse: [
        { shard: 1, httpPort: 29123, tcpPort: 29900 },
        { shard: 2, httpPort: 29124, tcpPort: 29901 },
      ],
    });
    expect(
      loadEnginesConfig({ PULLWATCH_CLUSTER_KAFKA_PORT: '40000', PULLWATCH_CLUSTER_CLICKHOUSE_PORT: '41000' }).cluster
        .kafka[2],
    ).toEqual({ id: 3, port: 40004, controllerPort: 40005 });
    expect(() => loadEnginesConfig({ PULLWATCH_TOPOLOGY: 'ring' })).toThrow(/PULLWATCH_TOPOLOGY/);
  });
});
