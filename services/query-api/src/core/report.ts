/**
 * Pure parts of the failure report (GET /v1/reports/failures): grouping keys, merging, stable order,
 * keyset cursors and CSV. The ClickHouse reads are in ../reports/queries.ts.
 */
import { type Workload, workloadOf } from './workload.ts';

export const DIMENSIONS = ['cluster', 'namespace', 'team', 'workload', 'registry', 'cause', 'image'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Stored columns a grouping needs: team is read off (cluster, namespace), workload off the Pod name. */
export type BaseColumn = 'cluster' | 'namespace' | 'pod' | 'registry' | 'cause' | 'image';

export function baseColumns(dims: readonly Dimension[], teamFilter: boolean): BaseColumn[] {
  const out = new Set<BaseColumn>();
  for (const d of dims) {
    if (d === 'team') out.add('cluster').add('namespace');
    // A workload is named within its namespace and cluster.
    else if (d === 'workload') out.add('cluster').add('namespace').add('pod');
    else out.add(d);
  }
  if (teamFilter) out.add('cluster').add('namespace');
  return [...out].sort();
}

export type Key = Record<string, string | boolean | null>;
export type TeamOf = (cluster: string, namespace: string) => string | null;

/**
 * The group key of a stored row, or undefined when the team filter excludes it. Grouping by workload
 * keys by cluster, namespace and workload (with its kind and `inferred`).
 */
export function keyOf(
  row: Partial<Record<BaseColumn, string>> & { workloadKind?: string; workloadName?: string },
  dims: readonly Dimension[],
  teamOf: TeamOf,
  teamFilter?: string,
): Key | undefined {
  const team = () => teamOf(row.cluster ?? '', row.namespace ?? '');
  if (teamFilter !== undefined && team() !== teamFilter) return undefined;
  const key: Key = {};
  for (const d of DIMENSIONS) {
    if (!dims.includes(d)) continue;
    if (d === 'team') key.team = team();
    else if (d === 'workload') {
      const w: Workload | null = workloadOf({ ...row, pod: row.pod ?? '' });
      key.cluster = row.cluster ?? '';
      key.namespace = row.namespace ?? '';
      key.workload = w?.name ?? null;
      key.workloadKind = w?.kind ?? null;
      key.inferred = w ? w.inferred : true;
    } else key[d] = row[d] ?? '';
  }
  return key;
}

/** The key as text, its fields in a fixed order: what groups are merged, sorted and paged on. */
export function keyText(key: Key): string {
  return JSON.stringify(
    Object.keys(key)
      .sort()
      .map((k) => [k, key[k]]),
  );
}

export interface Group {
  key: Key;
  failures: number;
  successes: number;
  failureRate: number;
  pods: number;
  stuckPodHours: number;
  incidents: number | null;
  medianRecoverySeconds: number | null;
}

/** Accumulates rows into groups; pods add up because a Pod lies in exactly one (cluster, namespace). */
export class GroupSet {
  private readonly groups = new Map<string, { key: Key; g: Omit<Group, 'key'>; recoveries: number[] }>();

  constructor(readonly incidentsKnown: boolean) {}

  private at(key: Key) {
    const k = keyText(key);
    let e = this.groups.get(k);
    if (!e) {
      e = {
        key,
        g: {
          failures: 0,
          successes: 0,
          failureRate: 0,
          pods: 0,
          stuckPodHours: 0,
          incidents: this.incidentsKnown ? 0 : null,
          medianRecoverySeconds: null,
        },
        recoveries: [],
      };
      this.groups.set(k, e);
    }
    return e;
  }

  has(key: Key): boolean {
    return this.groups.has(keyText(key));
  }

  addCounts(key: Key, failures: number, successes: number, pods: number): void {
    const e = this.at(key);
    e.g.failures += failures;
    e.g.successes += successes;
    e.g.pods += pods;
  }

  /** Pod state and incidents only join groups that have pulls in the window. */
  addState(key: Key, stuckHours: number, recoveries: number[]): void {
    if (!this.has(key)) return;
    const e = this.at(key);
    e.g.stuckPodHours += stuckHours;
    e.recoveries.push(...recoveries);
  }

  addIncidents(key: Key, n: number): void {
    if (!this.has(key)) return;
    const e = this.at(key);
    e.g.incidents = (e.g.incidents ?? 0) + n;
  }

  list(): Group[] {
    return [...this.groups.values()].map(({ key, g, recoveries }) => ({
      key,
      ...g,
      failureRate: rate(g.failures, g.successes),
      stuckPodHours: round(g.stuckPodHours),
      medianRecoverySeconds: median(recoveries),
    }));
  }
}

export const rate = (failures: number, successes: number) =>
  failures + successes ? round(failures / (failures + successes), 6) : 0;
export const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

export function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return round(s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2);
}

/** Failures descending, then the key ascending: a total order, so pages never overlap or skip. */
export function compareGroups(a: Pick<Group, 'failures' | 'key'>, b: Pick<Group, 'failures' | 'key'>): number {
  if (a.failures !== b.failures) return b.failures - a.failures;
  const ka = keyText(a.key);
  const kb = keyText(b.key);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export class CursorError extends Error {}

/** An opaque keyset cursor: the (failures, key) of the last group of a page. */
export const encodeCursor = (g: Pick<Group, 'failures' | 'key'>) =>
  Buffer.from(JSON.stringify([g.failures, keyText(g.key)])).toString('base64url');

export function decodeCursor(cursor: string): { failures: number; key: string } {
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw new CursorError('not base64url');
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(c) && c.length === 2 && Number.isSafeInteger(c[0]) && c[0] >= 0 && typeof c[1] === 'string')
      return { failures: c[0] as number, key: c[1] };
  } catch {
    // falls through
  }
  throw new CursorError('not a cursor this API returned');
}

/** The page after the cursor (keyset: groups strictly after it in the order), and the next cursor. */
export function page(groups: Group[], limit: number, cursor?: string): { groups: Group[]; nextCursor: string | null } {
  const sorted = [...groups].sort(compareGroups);
  let start = 0;
  if (cursor !== undefined) {
    const c = decodeCursor(cursor);
    start = sorted.findIndex((g) => g.failures < c.failures || (g.failures === c.failures && keyText(g.key) > c.key));
    if (start < 0) start = sorted.length;
  }
  const out = sorted.slice(start, start + limit);
  const last = out[out.length - 1];
  return { groups: out, nextCursor: start + limit < sorted.length && last ? encodeCursor(last) : null };
}

const METRICS = [
  'failures',
  'successes',
  'failureRate',
  'pods',
  'stuckPodHours',
  'incidents',
  'medianRecoverySeconds',
] as const;

/** Key columns of a report: the dimensions, a workload with its cluster, namespace, kind and `inferred`. */
export function keyColumns(dims: readonly Dimension[]): string[] {
  const cols: string[] = [];
  for (const d of DIMENSIONS) {
    if (!dims.includes(d)) continue;
    if (d === 'workload') cols.push('cluster', 'namespace', 'workload', 'workloadKind', 'inferred');
    else cols.push(d);
  }
  return [...new Set(cols)];
}

/**
 * RFC 4180: fields with a comma, quote, CR or LF are quoted, quotes doubled; null is empty; CRLF lines.
 * Text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR: OWASP's CSV
 * injection list) gets a leading `'`; numbers are the API's own and stay as they are.
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(dims: readonly Dimension[], groups: Group[]): string {
  const cols = keyColumns(dims);
  const lines = [[...cols, ...METRICS].join(',')];
  for (const g of groups)
    lines.push([...cols.map((c) => g.key[c]), ...METRICS.map((m) => g[m])].map(csvField).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
