import { RATE_LIMITED } from '../causes.ts';
import type { Pair } from '../core/teams.ts';
import { chTime } from '../params.ts';
import { FleetReader, n } from '../read.ts';
import { Where } from '../where.ts';

/** The reads behind GET /v1/risks: preventive flags, three independent scans. */
export class RiskQueries extends FleetReader {
  async risks(q: { from: Date; to: Date; cluster?: string | undefined; teamPairs?: readonly Pair[] | undefined }) {
    const where = () =>
      new Where()
        .add('event_time >= {from:DateTime64(3)}', 'from', chTime(q.from))
        .add('event_time < {to:DateTime64(3)}', 'to', chTime(q.to))
        .add('cluster = {cluster:String}', 'cluster', q.cluster);
    // A registry that rate-limited any Pod in the window (and cluster) counts, whichever team it refused.
    const anyone = where();
    const w = where().team(q.teamPairs);
    // Three independent scans: run them at once.
    const [mutableTags, alwaysVsRateLimited, noSecrets] = await Promise.all([
      this.rows<Record<string, unknown>>(
        `SELECT image, tag_kind, uniqExact(cluster) AS clusters, uniqExact(concat(cluster, '/', namespace, '/', ` +
          `pod)) AS pods
         FROM ${this.t.read('pull_events')} ${w.sql()} AND tag_kind IN ('latest', 'missing') AND outcome IN ` +
          `('success', 'failure', 'present') GROUP BY image, tag_kind ORDER BY pods DESC, image LIMIT 200`,
        w.params,
      ),
      this.rows<Record<string, unknown>>(
        `SELECT image, registry, uniqExact(concat(cluster, '/', namespace, '/', pod)) AS pods
         FROM ${this.t.read('pull_events')} ${w.sql()} AND image_pull_policy = 'Always'
           AND registry ${this.t.cluster ? 'GLOBAL IN' : 'IN'} (SELECT DISTINCT registry ` +
          `FROM ${this.t.read('pull_failures')} ${anyone.sql()} AND cause = {rateLimited:String})
         GROUP BY image, registry ORDER BY pods DESC, image LIMIT 200`,
        { ...w.params, rateLimited: RATE_LIMITED },
      ),
      this.rows<Record<string, unknown>>(
        `SELECT registry, image, has_pull_secrets, sum(occurrences) AS failures, uniqExact(concat(cluster, '/', ` +
          `namespace, '/', pod)) AS pods
         FROM ${this.t.read('pull_failures')} ${w.sql()} AND cause IN ('unauthorized', ` +
          `'not_found_or_unauthorized') AND has_pull_secrets != 1
         GROUP BY registry, image, has_pull_secrets ORDER BY failures DESC, image LIMIT 200`,
        w.params,
      ),
    ]);
    return {
      mutableTags: mutableTags.map((r) => ({
        image: r.image,
        tag: r.tag_kind === 'missing' ? 'none (implicit latest)' : 'latest',
        clusters: n(r.clusters),
        pods: n(r.pods),
      })),
      alwaysPullFromRateLimitedRegistries: alwaysVsRateLimited.map((r) => ({
        image: r.image,
        registry: r.registry,
        pods: n(r.pods),
      })),
      privateWithoutPullSecrets: noSecrets.map((r) => ({
        registry: r.registry,
        image: r.image,
        pullSecrets: n(r.has_pull_secrets) === 0 ? 'none' : 'unknown',
        failures: n(r.failures),
        pods: n(r.pods),
      })),
    };
  }
}
