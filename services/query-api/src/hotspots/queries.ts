import { RATE_LIMITED } from '../causes.ts';
import type { Pair } from '../core/teams.ts';
import { chTime, isoOf } from '../params.ts';
import { FleetReader, n } from '../read.ts';
import { Where } from '../where.ts';

/** The reads behind GET /v1/hotspots/rate-limit: rate-limited failures by registry and cluster (or node). */
export class HotspotQueries extends FleetReader {
  async hotspots(q: {
    from: Date;
    to: Date;
    groupBy?: string | undefined;
    registry?: string | undefined;
    cluster?: string | undefined;
    teamPairs?: readonly Pair[] | undefined;
  }) {
    const byNode = q.groupBy === 'node';
    const w = new Where()
      .add('cause = {rateLimited:String}', 'rateLimited', RATE_LIMITED)
      .add('event_time >= {from:DateTime64(3)}', 'from', chTime(q.from))
      .add('event_time < {to:DateTime64(3)}', 'to', chTime(q.to))
      .add('registry = {registry:String}', 'registry', q.registry)
      .add('cluster = {cluster:String}', 'cluster', q.cluster)
      .team(q.teamPairs);
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT registry, cluster, ${byNode ? 'node' : "'' AS node"}, sum(occurrences) AS failures, ` +
        `min(first_time) AS firstSeen, max(event_time) AS lastSeen
       FROM ${this.t.read('pull_failures')} ${w.sql()} GROUP BY registry, ` +
        `cluster${byNode ? ', node' : ''} ORDER BY failures DESC, registry, cluster LIMIT 1000`,
      w.params,
    );
    return rows.map((r) => ({
      registry: String(r.registry),
      cluster: String(r.cluster),
      node: byNode ? String(r.node) : null,
      failures: n(r.failures),
      firstSeen: isoOf(String(r.firstSeen)),
      lastSeen: isoOf(String(r.lastSeen)),
    }));
  }
}
