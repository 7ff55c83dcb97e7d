import { TupleParam } from '@pullwatch/clickhouse';
import type { Pair } from '../core/teams.ts';

/** A team filter on a table with cluster and namespace columns: its pairs travel as a query parameter. */
export const TEAM_PAIRS_SQL = '(cluster, namespace) IN {teamPairs:Array(Tuple(String, String))}';

export const teamPairsParam = (pairs: readonly Pair[]) => pairs.map((p) => new TupleParam([...p]));

/**
 * Incidents that involve a team: one of their (cluster, image) pairs failed in the team's namespaces
 * within [from, to) (the query's `from`/`to` DateTime64(3) parameters). Incidents name clusters and
 * images, never namespaces. The scalar subquery runs once, on the initiator on a ClickHouse cluster.
 */
export function teamIncidentsSql(failuresTable: string): string {
  return (
    'hasAny(arrayFlatten(arrayMap(c -> arrayMap(i -> (c, i), images), clusters)), ' +
    `(SELECT groupUniqArray((toString(cluster), image)) FROM ${failuresTable} ` +
    `WHERE event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)} AND ${TEAM_PAIRS_SQL}))`
  );
}
