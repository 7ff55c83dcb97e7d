import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnginesConfig, repoRoot } from './config.ts';

describe('loadEnginesConfig', () => {
  it('defaults to the local engines in .pullwatch on the usual ports', () => {
    const { cluster: _cluster, ...single } = loadEnginesConfig({});
    expect(single).toEqual({
      mode: 'local',
      topology: 'single',
      home: join(repoRoot, '.pullwatch'),
      kafka: { port: 19092, controllerPort: 19093, heap: '512m', java: 'java', security: {} },
      clickhouse: { port: 18123, user: 'default', password: '' },
    });
  });

  it('reads external servers, trimming the broker list, and JAVA_HOME', () => {
    const { cluster: _cluster, ...external } = loadEnginesConfig({
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_KAFKA_BROKERS: ' k1:9092, k2:9092 ,',
      PULLWATCH_CLICKHOUSE_URL: 'http://ch:8123',
      PULLWATCH_CLICKHOUSE_USER: 'pw',
      PULLWATCH_CLICKHOUSE_PASSWORD: 's3cret',
      PULLWATCH_HOME: '/tmp/pw-home',
      JAVA_HOME: '/opt/jdk',
      PULLWATCH_KAFKA_PORT: '29092',
    });
    expect(external).toEqual({
      mode: 'external',
      topology: 'single',
      home: '/tmp/pw-home',
      kafka: {
        port: 29092,
        controllerPort: 19093,
        heap: '512m',
        java: '/opt/jdk/bin/java',
        brokers: ['k1:9092', 'k2:9092'],
        security: {},
      },
      clickhouse: { port: 18123, user: 'pw', password: 's3cret', url: 'http://ch:8123' },
    });
  });

  it('needs both servers for external engines', () => {
    const message =
      'PULLWATCH_ENGINES=external needs PULLWATCH_KAFKA_BROKERS (host:port[,host:port]) and PULLWATCH_CLICKHOUSE_URL';
    expect(() =>
      loadEnginesConfig({ PULLWATCH_ENGINES: 'external', PULLWATCH_CLICKHOUSE_URL: 'http://ch:8123' }),
    ).toThrow(message);
    expect(() =>
      loadEnginesConfig({
        PULLWATCH_ENGINES: 'external',
        PULLWATCH_KAFKA_BROKERS: ' , ',
        PULLWATCH_CLICKHOUSE_URL: 'http://ch:8123',
      }),
    ).toThrow(message);
  });

  it('names every invalid variable', () => {
    expect(() =>
      loadEnginesConfig({
        PULLWATCH_ENGINES: 'docker',
        PULLWATCH_KAFKA_PORT: '70000',
        PULLWATCH_KAFKA_HEAP: 'lots',
        PULLWATCH_CLICKHOUSE_URL: 'not a url',
      }),
    ).toThrow(
      new RegExp(
        '^invalid engine settings: PULLWATCH_ENGINES: .+; PULLWATCH_KAFKA_PORT: .+; ' +
          'PULLWATCH_KAFKA_HEAP: like 512m or 1g; PULLWATCH_CLICKHOUSE_URL: .+$',
      ),
    );
  });

  it('reads the Kafka security settings and the ClickHouse CA for external servers, naming bad ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-engines-config-'));
    try {
      const ca = join(dir, 'ca.pem');
      writeFileSync(ca, 'CLICKHOUSE CA');
      const external = {
        PULLWATCH_ENGINES: 'external',
        PULLWATCH_KAFKA_BROKERS: 'k1:9093',
        PULLWATCH_CLICKHOUSE_URL: 'https://ch:8443',
      };
      const cfg = loadEnginesConfig({
        ...external,
        PULLWATCH_KAFKA_SSL: 'true',
        PULLWATCH_KAFKA_SSL_CA_FILE: ca,
        PULLWATCH_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
        PULLWATCH_KAFKA_SASL_USERNAME: 'pw',
        PULLWATCH_KAFKA_SASL_PASSWORD: 'secret',
        PULLWATCH_CLICKHOUSE_CA_FILE: ca,
      });
      expect(cfg.kafka.security).toEqual({
        tls: { ca: Buffer.from('CLICKHOUSE CA') },
        sasl: { mechanism: 'SCRAM-SHA-256', username: 'pw', password: 'secret' },
      });
      expect(cfg.clickhouse.caCert).toEqual(Buffer.from('CLICKHOUSE CA'));
      expect(() => loadEnginesConfig({ ...external, PULLWATCH_CLICKHOUSE_CA_FILE: join(dir, 'missing.pem') })).toThrow(
        /^PULLWATCH_CLICKHOUSE_CA_FILE: cannot read .*missing\.pem: ENOENT/,
      );
      expect(() => loadEnginesConfig({ ...external, PULLWATCH_KAFKA_SASL_MECHANISM: 'PLAIN' })).toThrow(
        'PULLWATCH_KAFKA_SASL_USERNAME: needed with PULLWATCH_KAFKA_SASL_MECHANISM=PLAIN',
      );
      // The query API and migrate get the chart's shared Kafka settings but no Kafka credentials.
      const apiOnly = loadEnginesConfig(
        {
          ...external,
          PULLWATCH_KAFKA_SSL: 'true',
          PULLWATCH_KAFKA_SASL_MECHANISM: 'PLAIN',
          PULLWATCH_CLICKHOUSE_CA_FILE: ca,
        },
        { kafka: false },
      );
      expect([apiOnly.kafka.security, apiOnly.clickhouse.caCert]).toEqual([{}, Buffer.from('CLICKHOUSE CA')]);
      // The collector needs no ClickHouse: its CA file is not read.
      expect(
        loadEnginesConfig(
          { ...external, PULLWATCH_CLICKHOUSE_CA_FILE: join(dir, 'missing.pem') },
          { clickhouse: false },
        ).clickhouse.caCert,
      ).toBeUndefined();
      // The local engines are plaintext: security settings there are a mistake, not something to ignore.
      expect(() => loadEnginesConfig({ PULLWATCH_KAFKA_SSL: 'true' })).toThrow(
        /^invalid engine settings: PULLWATCH_KAFKA_SSL is set but the local Kafka broker is plaintext/,
      );
      expect(() => loadEnginesConfig({ PULLWATCH_CLICKHOUSE_CA_FILE: ca })).toThrow(
        /^invalid engine settings: PULLWATCH_CLICKHOUSE_CA_FILE is set but the local ClickHouse serves plain HTTP/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

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
