import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DEAD_LETTER_REASONS } from './stages.ts';

/** What an analyzer has done since it started (its `stats()`, for tests and the bench). */
export interface AnalyzerStats {
  consumed: number;
  failures: number;
  successes: number;
  deadLettered: number;
  skippedAlreadyStored: number;
}

/** The analyzer's Prometheus metrics; `lag` is read at scrape time (messages behind, per partition held). */
export function createAnalyzerMetrics(
  registry: Registry,
  lag: () => Promise<Map<number, number>>,
  classifications: () => { hits: number; misses: number } = () => ({ hits: 0, misses: 0 }),
) {
  new Counter({
    name: 'pullwatch_analyzer_classifications_total',
    help: 'Messages classified (computed) or answered from recent identical messages (reused)',
    labelNames: ['answer'],
    registers: [registry],
    collect() {
      const { hits, misses } = classifications();
      this.reset();
      this.inc({ answer: 'reused' }, hits);
      this.inc({ answer: 'computed' }, misses);
    },
  });
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
  const deadLettered = new Counter({
    name: 'pullwatch_analyzer_dead_lettered_total',
    help: 'Messages sent to the dead-letter topic, by reason (decode, schema, processing, clickhouse_rejected)',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Every reason from zero: rate() and increase() see the first one.
  for (const reason of DEAD_LETTER_REASONS) deadLettered.inc({ reason }, 0);
  return {
    deadLettered,
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

export type AnalyzerMetrics = ReturnType<typeof createAnalyzerMetrics>;
