import { storedOffsetOfTopic, type TopicNow } from './core/stored-offsets.ts';
import {
  FleetTables,
  insertRowBinary,
  toClickHouseError,
  type ClickHouseClient,
  type RowBlock,
} from '@pullwatch/clickhouse';
import {
  chTime,
  POD_STATE_FORMAT,
  PULL_EVENT_FORMAT,
  RAW_EVENT_FORMAT,
  type PodStateRow,
  type PullEventRow,
  type RawEventRow,
} from './core/table-formats.ts';
import {
  type CarriedIncident,
  type FailureBucket,
  formIncidents,
  type Incident,
  type IncidentThresholds,
  isImageCause,
  type SuccessMarks,
} from './core/incidents.ts';

const MINUTE_MS = 60_000;

/** The tables one batch is written to, each a step a retried or split write does not repeat once done. */
export type WriteStep = 'pull_events' | 'pod_pull_state' | 'raw_events';

/**
 * Inserts through a Distributed `_all` table are acknowledged only once every shard stored its rows.
 * By default a Distributed insert is acknowledged when queued on the connected server's disk, before
 * the other shard has it (or forever, if that shard is down or the send pool is off): the analyzer
 * would commit offsets whose Pod states no other analyzer can restore yet. Harmless on one server.
 */
const FOREGROUND = { insert_distributed_sync: 1 } as const;

/**
 * The analyzer's ClickHouse reads and writes. On a ClickHouse cluster, reads that must see the whole
 * fleet go through the `<table>_all` Distributed tables, event rows go to the local replicated tables
 * of the connected shard, Pod states and incidents through their `_all` tables (sharded by Pod and by
 * id, so ReplacingMergeTree collapses each on one shard); see
 * docs/clickhouse-cluster.md.
 */
export class AnalyzerStore {
  private readonly tables: FleetTables;

  constructor(
    private readonly ch: ClickHouseClient,
    db: string,
    cluster?: string | undefined,
  ) {
    this.tables = new FleetTables(db, cluster);
  }

  /**
   * One Kafka batch, written idempotently: the same offsets always form the same block with the
   * same deduplication token, so a retried insert (or a redelivery with the same boundaries) is
   * dropped by ClickHouse, materialized views included. Event rows come encoded (RowBinary blocks, one
   * per slice), sent after one header each. `done` holds the steps already stored (an earlier attempt,
   * or the block this one was split from) and gains each that succeeds; failures are typed
   * (`toClickHouseError`).
   */
  async writeBatch(
    token: string,
    pulls: readonly RowBlock<PullEventRow>[],
    raws: readonly RowBlock<RawEventRow>[],
    states: PodStateRow[],
    done: Set<WriteStep> = new Set(),
  ): Promise<void> {
    const settings = {
      async_insert: 0 as const,
      insert_deduplicate: 1 as const,
      deduplicate_blocks_in_dependent_materialized_views: 1 as const,
    };
    /** Runs a step not already done (by an earlier attempt, or the block this one was split from). */
    const step = async (name: WriteStep, insert: () => Promise<void>) => {
      if (done.has(name)) return;
      try {
        await insert();
      } catch (err) {
        // Typed by ClickHouse's code: the caller decides retry, split or dead-letter on it.
        throw toClickHouseError(err);
      }
      done.add(name);
    };
    // Order matters: raw_events last, so a stored raw row means the whole batch is stored (restarts
    // skip up to the highest raw offset, and re-derive counts from pull_events).
    const first = await Promise.allSettled([
      step('pull_events', () =>
        insertRowBinary(this.ch, {
          table: this.tables.local('pull_events'),
          format: PULL_EVENT_FORMAT,
          blocks: pulls,
          clickhouse_settings: { ...settings, insert_deduplication_token: `${token}:pull` },
        }),
      ),
      step('pod_pull_state', () =>
        insertRowBinary(this.ch, {
          table: this.tables.read('pod_pull_state'),
          format: POD_STATE_FORMAT,
          rows: states,
          clickhouse_settings: { async_insert: 0, ...FOREGROUND },
        }),
      ),
    ]);
    for (const r of first) if (r.status === 'rejected') throw r.reason;
    await step('raw_events', () =>
      insertRowBinary(this.ch, {
        table: this.tables.local('raw_events'),
        format: RAW_EVENT_FORMAT,
        blocks: raws,
        clickhouse_settings: { ...settings, insert_deduplication_token: `${token}:raw` },
      }),
    );
  }

  /** The highest offset already stored per partition: what a restart must not process again. */
  storedOffsets(partitions: number[], topic: TopicNow): Promise<Map<number, number>> {
    return this.maxOffsets('raw_events', partitions, topic);
  }

  /**
   * The highest offset per partition with a pull_events row. Above the raw_events maximum only when a
   * batch's pull rows were stored and its raw rows were not (a crash between the two): those messages
   * are processed again for their raw rows, but their pull rows are not written twice.
   */
  storedPullOffsets(partitions: number[], topic: TopicNow): Promise<Map<number, number>> {
    return this.maxOffsets('pull_events', partitions, topic);
  }

  private async maxOffsets(table: 'raw_events' | 'pull_events', partitions: number[], topic: TopicNow) {
    if (!partitions.length) return new Map<number, number>();
    const rs = await this.ch.query({
      query:
        `SELECT kafka_partition AS p, maxOrNullIf(kafka_offset, kafka_topic_id = {id:String}) AS mine, ` +
        `maxOrNullIf(kafka_offset, kafka_topic_id = '') AS unknown FROM ${this.tables.read(table)} WHERE ` +
        `kafka_partition IN {parts:Array(UInt32)} GROUP BY p`,
      query_params: { parts: partitions, id: topic.id },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ p: number; mine: number | string | null; unknown: number | string | null }>();
    const of = (v: number | string | null) => (v === null ? -1 : Number(v));
    return new Map(
      rows.map((r) => [
        Number(r.p),
        storedOffsetOfTopic({ mine: of(r.mine), unknown: of(r.unknown) }, topic.ends[Number(r.p)] ?? 0),
      ]),
    );
  }

  /** The last count seen per Event of these partitions (recent ones: Events live about an hour). */
  async lastCounts(partitions: number[]): Promise<{ cluster: string; uid: string; count: number }[]> {
    if (!partitions.length) return [];
    const rs = await this.ch.query({
      // From pull_events, written before raw_events: a batch whose pull rows were stored but whose raw
      // rows were not is processed again, and its counts then add nothing.
      query:
        `SELECT cluster, event_uid AS uid, max(event_count) AS count ` +
        `FROM ${this.tables.read('pull_events')} WHERE kafka_partition IN {parts:Array(UInt32)} AND received_at ` +
        `>= now() - INTERVAL 2 DAY GROUP BY cluster, uid`,
      query_params: { parts: partitions },
      format: 'JSONEachRow',
    });
    return (await rs.json<{ cluster: string; uid: string; count: number | string }>()).map((r) => ({
      ...r,
      count: Number(r.count),
    }));
  }

  async openPodStates(): Promise<PodStateRow[]> {
    const ms = (c: string) => `toUnixTimestamp64Milli(${c}) AS ${c}`;
    const rs = await this.ch.query({
      query:
        `SELECT * REPLACE (${['first_failure', 'last_failure', 'recovered_at', 'updated_at'].map(ms).join(', ')}) ` +
        `FROM ${this.tables.read('pod_pull_state')} FINAL WHERE status != 'recovered'`,
      format: 'JSONEachRow',
    });
    // 64-bit integers may come back as JSON strings, depending on the server's settings.
    return (await rs.json<PodStateRow>()).map((r) => ({
      ...r,
      first_failure: Number(r.first_failure),
      last_failure: Number(r.last_failure),
      updated_at: Number(r.updated_at),
      recovered_at: r.recovered_at === null ? null : Number(r.recovered_at),
      time_to_recover_ms: r.time_to_recover_ms === null ? null : Number(r.time_to_recover_ms),
      attempts: Number(r.attempts),
      workload_inferred: (r.workload_inferred as unknown) === true || (r.workload_inferred as unknown) === 1,
    }));
  }

  /**
   * One correlation: the failures of the look-back window (starting on a minute, so the buckets and the
   * carried figures split at the same instant), the open incidents that began before it, the incidents
   * they form, written. Returns what it wrote.
   */
  async correlate(t: IncidentThresholds & { lookbackHours: number }, nowMs: number): Promise<Incident[]> {
    const windowStartMs = Math.floor((nowMs - t.lookbackHours * 3_600_000) / MINUTE_MS) * MINUTE_MS;
    const [buckets, marks, open] = await Promise.all([
      this.failureBuckets(t.lookbackHours, windowStartMs),
      this.successMarks(t.lookbackHours),
      this.openIncidentsBefore(windowStartMs),
    ]);
    const incidents = formIncidents(buckets, marks, t, nowMs, { windowStartMs, open });
    await this.writeIncidents(incidents);
    return incidents;
  }

  /**
   * Incidents stored as open that began before `windowStartMs`, with their exact failures from their
   * start up to it: what the window no longer shows of them.
   */
  async openIncidentsBefore(windowStartMs: number): Promise<CarriedIncident[]> {
    const rs = await this.ch.query({
      query:
        `SELECT id, registry, cause, scope, clusters, images, failures, toUnixTimestamp64Milli(start) AS ` +
        `startMs, toUnixTimestamp64Milli(last_seen) AS lastSeenMs
              FROM ${this.tables.read('incidents')} FINAL
              WHERE status = 'open' AND start < fromUnixTimestamp64Milli({w:Int64}, 'UTC')`,
      query_params: { w: windowStartMs },
      format: 'JSONEachRow',
    });
    type Row = Omit<CarriedIncident, 'failuresBeforeWindow' | 'failures' | 'startMs' | 'lastSeenMs'> & {
      failures: number | string;
      startMs: number | string;
      lastSeenMs: number | string;
    };
    const rows = await rs.json<Row>();
    return Promise.all(
      rows.map(async (r) => {
        const startMs = Number(r.startMs);
        const before = await this.ch.query({
          query:
            `SELECT sum(occurrences) AS n FROM ${this.tables.read('pull_failures')}
                  WHERE registry = {registry:String} AND cause = {cause:String} ${
                    isImageCause(r.cause) ? 'AND image = {image:String}' : ''
                  }
                    AND event_time >= fromUnixTimestamp64Milli({s:Int64}, 'UTC') AND event_time < ` +
            `fromUnixTimestamp64Milli({w:Int64}, 'UTC')`,
          query_params: {
            registry: r.registry,
            cause: r.cause,
            image: r.images[0] ?? '',
            s: startMs,
            w: windowStartMs,
          },
          format: 'JSONEachRow',
        });
        const [sum] = await before.json<{ n: number | string }>();
        return {
          id: r.id,
          registry: r.registry,
          cause: r.cause,
          scope: r.scope,
          clusters: r.clusters,
          images: r.images,
          failures: Number(r.failures),
          startMs,
          lastSeenMs: Number(r.lastSeenMs),
          failuresBeforeWindow: Number(sum?.n ?? 0),
        };
      }),
    );
  }

  /** Failures per registry, cause, cluster, image and minute since `windowStartMs` (default: the look-back). */
  async failureBuckets(lookbackHours: number, windowStartMs?: number): Promise<FailureBucket[]> {
    const since =
      windowStartMs === undefined ? 'now() - INTERVAL {h:UInt32} HOUR' : "fromUnixTimestamp64Milli({w:Int64}, 'UTC')";
    const rs = await this.ch.query({
      query:
        `SELECT registry, cause, cluster, image, toUnixTimestamp(toStartOfMinute(event_time)) * 1000 AS ` +
        `minuteMs, toUnixTimestamp64Milli(max(event_time)) AS lastMs, sum(occurrences) AS failures
              FROM ${this.tables.read('pull_failures')} WHERE event_time >= ${since}
              GROUP BY registry, cause, cluster, image, minuteMs ORDER BY minuteMs`,
      query_params: { h: lookbackHours, w: windowStartMs ?? 0 },
      format: 'JSONEachRow',
    });
    return (await rs.json<Record<string, string | number>>()).map((r) => ({
      registry: String(r.registry),
      cause: String(r.cause),
      cluster: String(r.cluster),
      image: String(r.image),
      minuteMs: Number(r.minuteMs),
      lastMs: Number(r.lastMs),
      failures: Number(r.failures),
    }));
  }

  async successMarks(lookbackHours: number): Promise<SuccessMarks> {
    const rs = await this.ch.query({
      query:
        `SELECT registry, cluster, image, toUnixTimestamp64Milli(max(event_time)) AS last ` +
        `FROM ${this.tables.read('pull_successes')} WHERE event_time >= now() - INTERVAL {h:UInt32} HOUR GROUP ` +
        `BY registry, cluster, image`,
      query_params: { h: lookbackHours },
      format: 'JSONEachRow',
    });
    const marks: SuccessMarks = { byRegistryCluster: new Map(), byImage: new Map() };
    for (const r of await rs.json<{ registry: string; cluster: string; image: string; last: number | string }>()) {
      const last = Number(r.last);
      const k = `${r.registry}\u0000${r.cluster}`;
      marks.byRegistryCluster.set(k, Math.max(marks.byRegistryCluster.get(k) ?? 0, last));
      marks.byImage.set(r.image, Math.max(marks.byImage.get(r.image) ?? 0, last));
    }
    return marks;
  }

  async writeIncidents(incidents: Incident[]): Promise<void> {
    if (!incidents.length) return;
    await this.ch.insert({
      table: this.tables.read('incidents'),
      format: 'JSONEachRow',
      clickhouse_settings: { async_insert: 0, ...FOREGROUND },
      values: incidents.map((i) => ({
        id: i.id,
        registry: i.registry,
        cause: i.cause,
        scope: i.scope,
        clusters: i.clusters,
        images: i.images,
        failures: i.failures,
        start: chTime(i.startMs),
        last_seen: chTime(i.lastSeenMs),
        end: i.endMs === null ? null : chTime(i.endMs),
        status: i.status,
        // The version is the data, not the clock: concurrent analyzers write identical rows.
        updated_at: chTime(Math.max(i.lastSeenMs, i.endMs ?? 0)),
      })),
    });
  }
}
