import type { Pair } from '../core/teams.ts';
import { chTime, isoOf } from '../params.ts';
import { FleetReader, n } from '../read.ts';
import { teamIncidentsSql, teamPairsParam } from '../teams/sql.ts';
import { Where } from '../where.ts';

/** The reads behind GET /v1/incidents (the analyzer's incidents table). */
export class IncidentQueries extends FleetReader {
  async incidents(q: { from: Date; to: Date; status: string; teamPairs?: readonly Pair[] | undefined }) {
    const w = new Where()
      .add('last_seen >= {from:DateTime64(3)}', 'from', chTime(q.from))
      .add('start < {to:DateTime64(3)}', 'to', chTime(q.to));
    if (q.status !== 'all') w.add('status = {status:String}', 'status', q.status);
    if (q.teamPairs) w.add(teamIncidentsSql(this.t.read('pull_failures')), 'teamPairs', teamPairsParam(q.teamPairs));
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT id, registry, cause, scope, clusters, images, failures, start, last_seen, end, status ` +
        `FROM ${this.t.read('incidents')} FINAL ${w.sql()} ORDER BY start DESC, id LIMIT 1000`,
      w.params,
    );
    return rows.map((r) => ({
      id: String(r.id),
      registry: String(r.registry),
      cause: String(r.cause),
      scope: String(r.scope),
      clusters: r.clusters as string[],
      images: r.images as string[],
      failures: n(r.failures),
      start: isoOf(String(r.start)),
      lastSeen: isoOf(String(r.last_seen)),
      end: r.end === null ? null : isoOf(String(r.end)),
      status: String(r.status),
    }));
  }
}
