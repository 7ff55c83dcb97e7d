import type { BackoffPolicy } from '@pullwatch/backoff';
import type { BatchControl, PartitionBatch } from '@pullwatch/kafka';
import type { Logger } from '@pullwatch/telemetry';
import { insertVerdict, rejectionReason } from '../core/insert-verdict.ts';
import { InsertCoalescer, type SliceControl } from '../insert-coalescer.ts';
import type { AnalyzerMetrics } from '../metrics.ts';
import { partitionsOf, type SliceRows, sliceRows } from '../stages.ts';
import type { AnalyzerStore, WriteStep } from '../store.ts';
import type { DeadLetters } from './dead-letters.ts';

/** Logged at the first failure, then at the 2nd, 4th, 8th… so a long outage keeps saying so, sparsely. */
export const worthLogging = (attempt: number) => (attempt & (attempt + 1)) === 0;

export function codeOf(err: unknown): { code?: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code ? { code } : {};
}

/**
 * Stores slices in ClickHouse together with the slices of the other partitions in progress (one insert
 * per block, insert-coalescer.ts): a block ClickHouse refuses is split down to single messages, and a
 * message refused alone is dead-lettered; ClickHouse down, the block is retried while its partitions
 * stay this instance's.
 */
export class SliceWriter {
  private readonly coalescer: InsertCoalescer<SliceRows>;
  /** The messages of each partition's slice being stored, for dead-lettering rows ClickHouse refuses. */
  private readonly inFlight = new Map<number, PartitionBatch['messages']>();

  constructor(deps: {
    /** The topic the slices come from. */
    topic: string;
    batch: { maxRows: number; maxWaitMs: number };
    store: AnalyzerStore;
    deadLetters: DeadLetters;
    backoff: BackoffPolicy;
    /** The analyzer is stopping: give up instead of retrying. */
    stopping: () => boolean;
    metrics: AnalyzerMetrics;
    log: Logger;
  }) {
    const { topic, store, metrics, log } = deps;
    const inFlight = this.inFlight;
    this.coalescer = new InsertCoalescer<SliceRows>(topic, {
      maxRows: deps.batch.maxRows,
      lingerMs: deps.batch.maxWaitMs,
      stopping: deps.stopping,
      backoff: deps.backoff,
      verdict: (err, slices) => insertVerdict(err, partitionsOf(slices.map((s) => s.rows))),
      units: (rows) => rows.units.length,
      take: sliceRows,
      async reject(slice, err) {
        const unit = slice.rows.units[0]!;
        const message = inFlight.get(slice.partition)?.find((m) => m.offset === unit.offset);
        const { code, text } = rejectionReason(err);
        await deps.deadLetters.send(topic, slice.partition, [
          { offset: unit.offset, value: message?.value ?? null, reason: 'clickhouse_rejected', error: text, code },
        ]);
      },
      async write(token, slices, done) {
        if (log.isLevelEnabled('debug'))
          log.debug(
            { partitions: slices.map((s) => s.partition), events: slices.reduce((n, s) => n + s.rows.raws.rows, 0) },
            'analyzer: writing a block',
          );
        const end = metrics.insertSeconds.startTimer();
        await store.writeBatch(
          token,
          slices.map((s) => s.rows.pulls),
          slices.map((s) => s.rows.raws),
          slices.flatMap((s) => s.rows.states),
          done as Set<WriteStep>,
        );
        end();
      },
      onSplit(err, units, verdict, depth) {
        // Once per block: its halves may be split again, down to single rows.
        if (depth === 0)
          log.warn(
            { err: err instanceof Error ? err.message.slice(0, 500) : String(err), ...codeOf(err), units, verdict },
            'analyzer: ClickHouse refused the block; writing it in halves',
          );
      },
      onRetry(err, attempt, slices, waitMs) {
        if (worthLogging(attempt))
          log.warn(
            { err: err instanceof Error ? err.message : String(err), ...codeOf(err), slices, attempt, waitMs },
            'analyzer: ClickHouse write failed; these partitions paused, retrying (the others go on)',
          );
      },
    });
  }

  /** A partition's batch handler starts: its slice may be worth waiting for. */
  enter(): void {
    this.coalescer.enter();
  }

  /** …and ends. */
  leave(): void {
    this.coalescer.leave();
  }

  /**
   * Stores one partition's slice (`messages`, processed into `rows`); resolves once it is in ClickHouse,
   * with how many of its messages ClickHouse refused (dead-lettered).
   */
  async store(
    partition: number,
    messages: PartitionBatch['messages'],
    rows: SliceRows,
    control: BatchControl,
    topicId = '',
  ): Promise<number> {
    const first = messages[0]!.offset;
    const last = messages[messages.length - 1]!.offset;
    const sliceControl: SliceControl = {
      // The Kafka client heartbeats by itself, and fetches nothing while a batch is being handled.
      heartbeat: async () => undefined,
      pause: () => undefined,
      isRunning: () => control.isCurrent(),
      isStale: () => false,
    };
    this.inFlight.set(partition, messages);
    try {
      return await this.coalescer.submit({
        partition,
        topicId,
        firstOffset: String(first),
        lastOffset: String(last),
        rowCount: rows.pulls.rows + rows.raws.rows,
        rows,
        control: sliceControl,
      });
    } finally {
      this.inFlight.delete(partition);
    }
  }
}
