import type { KafkaProducer } from '@pullwatch/kafka';
import type { Logger } from '@pullwatch/telemetry';
import type { AnalyzerMetrics, AnalyzerStats } from '../metrics.ts';
import type { DeadLetter } from '../stages.ts';

/** Poison messages go to the dead-letter topic first: never lost, never blocking the partition. */
export class DeadLetters {
  constructor(
    private readonly deps: {
      /** The dead-letter topic. */
      topic: string;
      /** Its producer (opened when the analyzer starts). */
      producer: () => KafkaProducer;
      stats: AnalyzerStats;
      metrics: AnalyzerMetrics;
      log: Logger;
    },
  ) {}

  /** Sends the dead messages of one partition of `topic`, with their reason and where they came from. */
  async send(topic: string, partition: number, dead: DeadLetter[]): Promise<void> {
    if (!dead.length) return;
    const { stats, metrics, log } = this.deps;
    await this.deps.producer().send(
      this.deps.topic,
      dead.map((d) => ({
        key: `${topic}:${partition}:${d.offset}`,
        value: d.value,
        headers: {
          'pullwatch-error': d.error,
          'pullwatch-reason': d.reason,
          ...(d.code ? { 'pullwatch-clickhouse-code': d.code } : {}),
          'pullwatch-topic': topic,
          'pullwatch-partition': String(partition),
          'pullwatch-offset': String(d.offset),
        },
      })),
    );
    stats.deadLettered += dead.length;
    metrics.consumedTotal.inc({ outcome: 'dead_lettered' }, dead.length);
    const byReason = new Map<string, number>();
    for (const d of dead) byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) metrics.deadLettered.inc({ reason }, n);
    log.warn(
      { count: dead.length, partition, reasons: Object.fromEntries(byReason), first: dead[0]?.error.slice(0, 300) },
      'analyzer: messages sent to the dead-letter topic',
    );
  }
}
