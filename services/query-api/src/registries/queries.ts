import type { Pair } from '../core/teams.ts';
import { FleetReader, n } from '../read.ts';
import { HourlyPodsSince, statsSource } from '../stats-source.ts';
import { Where } from '../where.ts';

/**
 * The reads behind GET /v1/registries: per-registry counts, whole hours from pull_stats_1h and the
 * minutes around them from pull_stats_1m (stats-source.ts).
 */
export class RegistryQueries extends FleetReader {
  private hourlyPods: HourlyPodsSince | null = null;

  /** From when pull_stats_1h holds namespaces and Pods (migration 0011); null: minutes only. */
  private hourlyPodsSince(): Promise<number | null> {
    this.hourlyPods ??= new HourlyPodsSince(this.ch, this.t);
    return this.hourlyPods.get();
  }

  async registries(q: {
    from: Date;
    to: Date;
    cluster?: string | undefined;
    namespace?: string | undefined;
    cause?: string | undefined;
    teamPairs?: readonly Pair[] | undefined;
  }) {
    const w = new Where()
      .add('cluster = {cluster:String}', 'cluster', q.cluster)
      .add('namespace = {namespace:String}', 'namespace', q.namespace)
      .team(q.teamPairs);
    if (q.cause) w.add("(cause = {cause:String} OR cause = '')", 'cause', q.cause);
    // Whole hours from the hourly table, the minutes around them from the minutes (stats-source.ts).
    const stats = statsSource(this.t, await this.hourlyPodsSince(), q, w.parts.join(' AND '));
    const params = { ...w.params, ...stats.params };
    // Independent reads of the same minutes: at once, not one after the other.
    const [rows, causes] = await Promise.all([
      this.rows<Record<string, unknown>>(
        `SELECT registry, any(provider) AS provider, sum(failures) AS failures, sum(successes) AS successes,
              uniqExactIf(cluster, cause != '') AS clusters, uniqCombinedMergeIf(pods, cause != '') AS pods
       FROM (${stats.sql}) GROUP BY registry ORDER BY failures DESC, registry LIMIT 1000`,
        params,
      ),
      this.rows<{ registry: string; cause: string; failures: number }>(
        `SELECT registry, cause, sum(failures) AS failures FROM (${stats.sql}) WHERE cause != '' GROUP BY registry, cause`,
        params,
      ),
    ]);
    const byCause = new Map<string, Record<string, number>>();
    for (const c of causes) {
      const m = byCause.get(c.registry) ?? {};
      m[c.cause] = n(c.failures);
      byCause.set(c.registry, m);
    }
    return rows
      .filter((r) => n(r.failures) + n(r.successes) > 0)
      .map((r) => {
        const failures = n(r.failures);
        const successes = n(r.successes);
        return {
          registry: String(r.registry),
          provider: String(r.provider),
          failures,
          successes,
          failureRate: failures + successes ? failures / (failures + successes) : 0,
          clusters: n(r.clusters),
          pods: n(r.pods),
          byCause: byCause.get(String(r.registry)) ?? {},
        };
      });
  }
}
