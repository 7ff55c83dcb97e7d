import type { Pair } from '../core/teams.ts';
import { chTime, isoOf } from '../params.ts';
import { FleetReader, n } from '../read.ts';
import { Where } from '../where.ts';
import { workloadFields } from '../workload-fields.ts';

/** The read behind GET /v1/pods/stuck: Pods still failing to pull (the analyzer's pod_pull_state). */
export class PodQueries extends FleetReader {
  async stuck(
    q: { cluster?: string | undefined; minutes: number; teamPairs?: readonly Pair[] | undefined },
    now: Date,
  ) {
    // Still failing = failed recently: kubelet retries at least every 5 minutes, so a Pod with no failure
    // for 15 minutes has been fixed or deleted (its state row would otherwise stay "stuck" forever).
    const w = new Where()
      .raw("status IN ('failing', 'stuck')")
      .add('first_failure <= {before:DateTime64(3)}', 'before', chTime(new Date(now.getTime() - q.minutes * 60_000)))
      .add('last_failure >= {recent:DateTime64(3)}', 'recent', chTime(new Date(now.getTime() - 15 * 60_000)))
      .add('cluster = {cluster:String}', 'cluster', q.cluster)
      .team(q.teamPairs);
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT * FROM ${this.t.read('pod_pull_state')} FINAL ${w.sql()} ORDER BY first_failure LIMIT 1000`,
      w.params,
    );
    return rows.map((r) => ({
      cluster: r.cluster,
      namespace: r.namespace,
      pod: r.pod,
      container: r.container,
      image: r.image,
      registry: r.registry,
      node: r.node,
      cause: r.cause,
      subcause: r.subcause || null,
      since: isoOf(String(r.first_failure)),
      lastFailure: isoOf(String(r.last_failure)),
      attempts: n(r.attempts),
      backoffSeconds: n(r.backoff_seconds),
      status: r.status,
      hint: r.hint,
      ...workloadFields(r),
    }));
  }
}
