import type { ClickHouseClient, FleetTables } from '@pullwatch/clickhouse';
import { PromiseMemo } from '../core/memo.ts';
import {
  labelWindow,
  type Pair,
  pairsOf,
  type SeenNamespace,
  type TeamSummary,
  type Teams,
  teamLookup,
  teamSummaries,
} from '../core/teams.ts';
import type { TeamOf } from '../core/report.ts';
import { chTime } from '../params.ts';
import { readRows } from '../read.ts';

/** The dashboard refreshes every 10 s and asks a dozen routes at once: they share one read of the labels. */
const MEMO_TTL_MS = 10_000;

/**
 * Resolves teams (core/teams.ts) against the namespaces stored in a window: which (cluster,
 * namespace) pairs a team filter selects, and which teams there are.
 */
export class TeamResolver {
  private readonly memo = new PromiseMemo<SeenNamespace[]>(MEMO_TTL_MS, 64);

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly t: FleetTables,
    private readonly teams: Teams,
  ) {}

  /** Each (cluster, namespace) with pulls in the label window of [from, to), with its latest stored label. */
  seen(w: { from: Date; to: Date }): Promise<SeenNamespace[]> {
    const lw = labelWindow(w);
    return this.memo.get(`${lw.from.getTime()}/${lw.to.getTime()}`, async () => {
      const rows = await readRows<SeenNamespace>(
        this.ch,
        `SELECT cluster, namespace, argMaxIf(team, event_time, team != '') AS label ` +
          `FROM ${this.t.read('pull_events')} ` +
          'WHERE event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)} ' +
          'GROUP BY cluster, namespace',
        { from: chTime(lw.from), to: chTime(lw.to) },
      );
      return rows.map((r) => ({ cluster: String(r.cluster), namespace: String(r.namespace), label: String(r.label) }));
    });
  }

  /** The pairs a team filter selects for a read of [from, to); none for a team nobody has. */
  async pairs(team: string, w: { from: Date; to: Date }): Promise<Pair[]> {
    return pairsOf(team, await this.seen(w), this.teams);
  }

  /** A route's team filter for a read of [from, to): its pairs, or undefined without one (no filter). */
  filter(team: string | undefined, w: { from: Date; to: Date }): Promise<Pair[] | undefined> {
    return team === undefined ? Promise.resolve(undefined) : this.pairs(team, w);
  }

  /** Every namespace's team for a read of [from, to) (the reports' grouping and filter). */
  async lookup(w: { from: Date; to: Date }): Promise<TeamOf> {
    return teamLookup(await this.seen(w), this.teams);
  }

  async list(w: { from: Date; to: Date }, cluster?: string): Promise<TeamSummary[]> {
    return teamSummaries(await this.seen(w), this.teams, cluster);
  }
}
