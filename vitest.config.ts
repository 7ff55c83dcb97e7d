import { defineConfig } from 'vitest/config';

// `x.test.ts` is pure and fast; `x.int.test.ts` talks to the real Kafka and ClickHouse,
// which the integration project's global setup starts (or reuses) once for the whole run.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['apps/**/*.test.ts', 'packages/**/*.test.ts', 'services/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [
            '**/node_modules/**',
            '**/*.int.test.ts',
            '**/*.e2e.test.ts',
            '**/*.rel.test.ts',
            '**/*.otelcol.test.ts',
            '**/*.kube.test.ts',
          ],
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            'apps/**/*.int.test.ts',
            'packages/**/*.int.test.ts',
            'services/**/*.int.test.ts',
            'test/**/*.int.test.ts',
          ],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/setup/engines.global.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Two cores: files run one after another so timing-sensitive stream tests stay stable.
          fileParallelism: false,
        },
      },
      {
        // The real OpenTelemetry Collector receiver against the fake API server: opt-in, as it needs a
        // collector binary built with the Collector Builder (infra/otel-collector/README.md).
        test: {
          name: 'otelcol',
          include: ['test/**/*.otelcol.test.ts'],
          globalSetup: ['test/setup/engines.global.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // A real kube-apiserver on etcd (built from the Go module proxy by scripts/kube-binaries.mjs, cached
        // under ~/.cache/pullwatch/kube) with the real Kafka: the collector's watch and the Helm chart's objects.
        test: {
          name: 'kube',
          include: ['test/kube/**/*.kube.test.ts'],
          globalSetup: ['test/kube/binaries.global.ts', 'test/setup/engines.global.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.rel.test.ts'],
          globalSetup: ['test/setup/engines.global.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // The cluster topology (3 Kafka brokers, 2 ClickHouse shards), started once for these files.
          name: 'cluster',
          include: ['test/cluster/**/*.rel.test.ts'],
          globalSetup: ['test/setup/cluster.global.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
