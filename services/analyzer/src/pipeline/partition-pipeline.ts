import type { BackoffPolicy } from '@pullwatch/backoff';
import type { BatchControl, PartitionBatch } from '@pullwatch/kafka';
import type { Logger } from '@pullwatch/telemetry';
import type { AnalyzerConfig } from '../config.ts';
import { type AnalyzerState, timeWindow } from '../core/process.ts';
import type { AnalyzerMetrics, AnalyzerStats } from '../metrics.ts';
import { processSlice, restoreState, SliceSpans } from '../stages.ts';
import type { AnalyzerStore } from '../store.ts';
import type { DeadLetters } from './dead-letters.ts';
import type { StoredProgress } from './progress.ts';
import type { TopicNow } from '../core/stored-offsets.ts';
import { type SliceWriter, worthLogging } from './slice-writer.ts';

/**
 * One partition's share of each fetch, in bounded slices, in order, each through the stages:
 * restore (once per assignment) → decode and process (stages.ts) → dead-letter → store → commit.
 */
export class PartitionPipeline {
  /** The ID of the topic the restored progress belongs to ('' before the first restore). */
  private topicId = '';
  /** False after the consumer restarted: the topic may have been deleted and created again meanwhile. */
  private topicChecked = true;

  constructor(
    private readonly cfg: Pick<AnalyzerConfig, 'batch' | 'stuckAfterMs' | 'ttlDays'>,
    private readonly deps: {
      store: AnalyzerStore;
      state: AnalyzerState;
      progress: StoredProgress;
      writer: SliceWriter;
      deadLetters: DeadLetters;
      /** The waits between attempts to read the stored state back. */
      backoff: BackoffPolicy;
      /** The analyzer is stopping: give up instead of retrying. */
      stopping: () => boolean;
      /** The events topic's ID and partition ends, from Kafka (read at each restore). */
      topicNow: () => Promise<TopicNow>;
      stats: AnalyzerStats;
      metrics: AnalyzerMetrics;
      log: Logger;
    },
  ) {}

  /** The consumer's batch handler: one partition's share of a fetch, stored and committed slice by slice. */
  async handleBatch(batch: PartitionBatch, control: BatchControl): Promise<void> {
    const { partition } = batch;
    // Fetched before a rebalance moved the partition away: its new owner handles it.
    if (!control.isCurrent()) return;
    this.deps.writer.enter();
    try {
      // A fetch can hold more than one insert should.
      for (let i = 0; i < batch.messages.length; i += this.cfg.batch.maxRows) {
        if (!control.isCurrent()) return;
        // Also between slices: another partition's failure may have made the state be forgotten.
        await this.ensureRestored(partition, control);
        const slice = batch.messages.slice(i, i + this.cfg.batch.maxRows);
        const spans = new SliceSpans(slice, { partition });
        try {
          await this.handleSlice(batch.topic, partition, slice, control);
          spans.end();
        } catch (err) {
          spans.end(err);
          throw err;
        }
      }
    } catch (err) {
      // Given up (or the dead-letter topic failed) after processing: restore every partition from
      // ClickHouse before its next slice.
      this.forgetState();
      throw err;
    } finally {
      this.deps.writer.leave();
    }
  }

  /** decode → process → dead-letter → store → commit. */
  private async handleSlice(
    topic: string,
    partition: number,
    messages: PartitionBatch['messages'],
    control: BatchControl,
  ): Promise<void> {
    const { progress, stats, metrics } = this.deps;
    const last = messages[messages.length - 1];
    if (!last) return;
    const processedIn = progress.current();
    const processed = processSlice(messages, progress.storedUpTo(partition), partition, this.deps.state, {
      stuckAfterMs: this.cfg.stuckAfterMs,
      window: timeWindow(Date.now(), this.cfg.ttlDays),
      pullsStoredUpTo: progress.pullsStoredUpTo(partition),
      topicId: this.topicId,
    });
    stats.skippedAlreadyStored += processed.skipped;
    await this.deps.deadLetters.send(topic, partition, processed.dead);
    const refused = await this.deps.writer.store(partition, messages, processed.rows, control, this.topicId);
    stats.failures += processed.failures;
    stats.successes += processed.successes;
    for (const [cause, n] of processed.failuresByCause) metrics.failuresByCause.inc({ cause }, n);
    stats.consumed += messages.length;
    metrics.consumedTotal.inc({ outcome: 'stored' }, processed.rows.raws.rows - refused);
    // Committed only now that ClickHouse has it all (and the dead-letter topic what it refused): a
    // restart resumes after it.
    await control.commit(last.offset);
    progress.markStored(partition, last.offset, processedIn);
  }

  /** Stage 0: the partitions' stored offsets and state, read back from ClickHouse. */
  private async restore(partitions: number[]): Promise<void> {
    const topic = await this.deps.topicNow();
    this.followTopic(topic.id);
    const { offsets, pullOffsets } = await restoreState(this.deps.store, this.deps.state, partitions, topic);
    this.deps.progress.restore(partitions, offsets, pullOffsets);
    this.deps.log.info(
      { partitions, storedUpTo: this.deps.progress.snapshot() },
      'analyzer: state restored from ClickHouse',
    );
  }

  /**
   * The consumer restarted (a lost connection, a rebalance, the topic gone): before the next slice, check
   * the topic is still the one the progress was restored for. A topic created again under the same name
   * starts at offset 0, and the progress kept in memory would skip its messages.
   */
  recheckTopic(): void {
    this.topicChecked = false;
  }

  private async checkTopic(): Promise<void> {
    this.followTopic((await this.deps.topicNow()).id);
    this.topicChecked = true;
  }

  /**
   * The topic's ID as Kafka has it now. A new one means the topic was created again: what any partition
   * restored belongs to the old topic, so every partition is restored again.
   */
  private followTopic(id: string): void {
    if (this.topicId && id !== this.topicId) {
      this.deps.log.warn({ was: this.topicId, now: id }, 'analyzer: the events topic has a new ID; restoring');
      this.forgetState();
    }
    this.topicId = id;
  }

  /** Waits for ClickHouse at a (re)assignment like a failed write does: the partition's state must be known first. */
  private async ensureRestored(partition: number, control: BatchControl): Promise<void> {
    const retryPolicy = this.deps.backoff;
    const b = retryPolicy.start();
    while (!this.topicChecked || !this.deps.progress.restored(partition)) {
      try {
        if (!this.topicChecked) await this.checkTopic();
        else await this.restore([partition]);
      } catch (err) {
        if (this.deps.stopping() || !control.isCurrent()) throw err;
        const attempt = b.attempts;
        const wait = b.next() ?? retryPolicy.ceiling(attempt);
        if (worthLogging(attempt))
          this.deps.log.warn(
            { err: err instanceof Error ? err.message : String(err), partition, attempt, waitMs: wait },
            'analyzer: could not read the stored state (ClickHouse) or the topic (Kafka); retrying',
          );
        await retryPolicy.sleep(wait);
      }
    }
  }

  /** What was processed but not stored has already moved the counts in memory: forget them. */
  private forgetState(): void {
    this.deps.progress.forget();
    this.deps.state.clear();
  }
}
