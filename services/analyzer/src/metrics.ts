import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The analyzer's Prometheus metrics; `lag` is read at scrape time (messages behind, per partition held). */
export function createAnalyzerMetrics(registry: Registry, lag: () => Promise<Map<number, number>>) {
  new Gauge({
    name: 'pullwatch_analyzer_lag_messages',
    help: 'Messages behind the partition end after the last stored slice, per partition this instance holds',
    labelNames: ['partition'],
    registers: [registry],
    async collect() {
      this.reset();
      // Kafka unreachable: no figure rather than a failed scrape.
      const behind = await lag().catch(() => new Map<number, number>());
      for (const [p, n] of behind) this.set({ partition: String(p) }, n);
    },
  });
  return {
    consumedTotal: new Counter({
      name: 'pullwatch_analyzer_messages_total',
      help: 'Messages consumed by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    failuresByCause: new Counter({
      name: 'pullwatch_analyzer_failures_total',
      help: 'Failed pull attempts by cause',
      labelNames: ['cause'],
      registers: [registry],
    }),
    insertSeconds: new Histogram({
      name: 'pullwatch_analyzer_insert_seconds',
      help: 'ClickHouse batch insert latency',
      registers: [registry],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    }),
  };
}
