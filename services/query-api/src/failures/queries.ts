import type { z } from 'zod';
import { encodeFailuresCursor, failuresCursor } from '../core/failures-cursor.ts';
import type { Pair } from '../core/teams.ts';
import { chTime, type Filters, isoOf, ParamError } from '../params.ts';
import { FleetReader, n } from '../read.ts';
import { Where } from '../where.ts';
import { workloadFields } from '../workload-fields.ts';

type FailureFilter = Exclude<keyof z.infer<typeof Filters>, 'team'>;

/**
 * The pull_failures column each /v1/failures filter of the schema (`Filters`) compares: a filter added
 * to the schema does not compile until it is mapped here (`team` goes through the team pairs).
 */
const FAILURE_FILTER_COLUMNS = {
  cluster: 'cluster',
  namespace: 'namespace',
  registry: 'registry',
  cause: 'cause',
  image: 'image',
} as const satisfies Record<FailureFilter, string>;

/** The read behind GET /v1/failures: failure observations, newest first, keyset-paged. */
export class FailureQueries extends FleetReader {
  async failures(
    q: {
      from: Date;
      to: Date;
      limit: number;
      cursor?: string | undefined;
      teamPairs?: readonly Pair[] | undefined;
    } & { [K in FailureFilter]?: string | undefined },
  ) {
    const w = new Where()
      .add('event_time >= {from:DateTime64(3)}', 'from', chTime(q.from))
      .add('event_time < {to:DateTime64(3)}', 'to', chTime(q.to))
      .team(q.teamPairs);
    for (const key of Object.keys(FAILURE_FILTER_COLUMNS) as FailureFilter[])
      w.add(`${FAILURE_FILTER_COLUMNS[key]} = {${key}:String}`, key, q[key]);
    if (q.cursor) {
      const c = failuresCursor(q.cursor);
      if (!c) throw new ParamError('cursor', 'not a cursor this API returned');
      w.parts.push('(event_time, event_uid, event_count) < ({ct:DateTime64(3)}, {cu:String}, {cc:UInt32})');
      Object.assign(w.params, { ct: c.time, cu: c.uid, cc: c.count });
    }
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT event_time, first_time, cluster, namespace, pod, container, node, image, registry, provider, ` +
        `cause, subcause, occurrences, attributed, hint, message, event_uid, event_count,
              workload_kind, workload_name, workload_inferred, team
       FROM ${this.t.read('pull_failures')} ${w.sql()} ORDER BY event_time DESC, event_uid DESC, event_count ` +
        `DESC LIMIT {limit:UInt32}`,
      { ...w.params, limit: q.limit + 1 },
    );
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > q.limit && last
        ? encodeFailuresCursor({
            time: String(last.event_time),
            uid: String(last.event_uid),
            count: n(last.event_count),
          })
        : null;
    return {
      failures: page.map((r) => ({
        time: isoOf(String(r.event_time)),
        firstTime: isoOf(String(r.first_time)),
        cluster: r.cluster,
        namespace: r.namespace,
        pod: r.pod,
        container: r.container,
        node: r.node,
        image: r.image,
        registry: r.registry,
        provider: r.provider,
        cause: r.cause,
        subcause: r.subcause || null,
        occurrences: n(r.occurrences),
        attributed: n(r.attributed) === 1,
        hint: r.hint,
        message: r.message,
        ...workloadFields(r),
      })),
      nextCursor,
    };
  }
}
