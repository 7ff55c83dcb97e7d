import type { Pair } from './core/teams.ts';
import { TEAM_PAIRS_SQL, teamPairsParam } from './teams/sql.ts';

export type Params = Record<string, unknown>;

/** Builds WHERE clauses from fixed fragments; values only ever travel as query parameters. */
export class Where {
  readonly parts: string[] = [];
  readonly params: Params = {};
  add(fragment: string, name: string, value: unknown): this {
    if (value !== undefined && value !== null) {
      this.parts.push(fragment);
      this.params[name] = value;
    }
    return this;
  }
  raw(fragment: string): this {
    this.parts.push(fragment);
    return this;
  }
  /** A team filter: its (cluster, namespace) pairs (none: nothing matches); undefined, no filter. */
  team(pairs: readonly Pair[] | undefined): this {
    return pairs === undefined ? this : this.add(TEAM_PAIRS_SQL, 'teamPairs', teamPairsParam(pairs));
  }
  sql(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}
