// @ts-check
// The dashboard's core: the view (kept in the URL fragment), the token, and the /v1 reads of one refresh.
/** @import * as T from './types.js' */

export const REFRESH_MS = 10_000;

/** @typedef {{ ms: number, interval: Interval, label: string, bucket: string }} Range */
/** @typedef {'1m' | '5m' | '1h' | '1d'} Interval */

/** @type {Record<string, Range>} */
export const RANGES = {
  '1h': { ms: 3_600_000, interval: '1m', label: 'last 1 h', bucket: '1-minute' },
  '6h': { ms: 6 * 3_600_000, interval: '5m', label: 'last 6 h', bucket: '5-minute' },
  '24h': { ms: 24 * 3_600_000, interval: '1h', label: 'last 24 h', bucket: 'hourly' },
  '7d': { ms: 7 * 86_400_000, interval: '1h', label: 'last 7 d', bucket: 'hourly' },
};
/** @type {Record<Interval, number>} */
export const INTERVAL_MS = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 };

/** The range named in the view (the default one for a name the page does not know). */
export const rangeOf = (/** @type {string} */ name) => RANGES[name] ?? /** @type {Range} */ (RANGES['24h']);

/**
 * The page's element with this id, of this type: a missing one is a bug in the page, said at once.
 * @template {HTMLElement} [E=HTMLElement]
 * @param {string} id
 * @param {new () => E} [type]
 * @returns {E}
 */
export function $(id, type) {
  const el = document.getElementById(id);
  if (!el || !(el instanceof (type ?? HTMLElement)))
    throw new Error(`the page has no ${type?.name ?? 'element'} #${id}`);
  return /** @type {E} */ (el);
}

/** The view; `detail` is `registry:NAME` or `incident:ID`. */
export const state = { range: '24h', cluster: '', registry: '', team: '', detail: '' };
/** Clusters, registries and teams seen in any answer, for the filter lists. */
export const known = {
  clusters: /** @type {Set<string>} */ (new Set()),
  registries: /** @type {Set<string>} */ (new Set()),
  teams: /** @type {Set<string>} */ (new Set()),
};
/** The last incidents shown, for the detail dialog. */
export const last = { incidents: /** @type {T.Incident[]} */ ([]) };

export function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const t = p.get('token');
  if (t) localStorage.setItem('pullwatch-token', t);
  const range = p.get('range');
  state.range = range !== null && RANGES[range] ? range : '24h';
  state.cluster = p.get('cluster') ?? '';
  state.registry = p.get('registry') ?? '';
  state.team = p.get('team') ?? '';
  state.detail = p.get('detail') ?? '';
  writeHash();
}

export function writeHash() {
  const p = new URLSearchParams({ range: state.range });
  if (state.cluster) p.set('cluster', state.cluster);
  if (state.registry) p.set('registry', state.registry);
  if (state.team) p.set('team', state.team);
  if (state.detail) p.set('detail', state.detail);
  const hash = `#${p}`;
  if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
}

/** What the page shows, for tests and links: the filters that the last render used. */
export const viewKey = () =>
  `range=${state.range}&cluster=${state.cluster}&registry=${state.registry}&team=${state.team}`;

/** @typedef {Record<string, string | number | undefined | null>} Params */

/** An error answer of the API, with its HTTP status. */
export class ApiError extends Error {
  /** @param {string} message @param {number} status */
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** @param {string} path @param {Params} params */
function urlOf(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  return q.size ? `${path}?${q}` : path;
}

/**
 * Reads a /v1 route with the token; the caller names the answer's type.
 * @param {string} path
 * @param {Params} [params]
 * @returns {Promise<any>}
 */
export async function api(path, params = {}) {
  const res = await fetch(urlOf(path, params), {
    headers: { authorization: `Bearer ${localStorage.getItem('pullwatch-token')}` },
  });
  /** @type {{ error?: { message?: string } }} */
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(body.error?.message ?? res.statusText, res.status);
  return body;
}

/** The selected time range, ending now. */
export function window_() {
  const to = new Date();
  return { from: new Date(to.getTime() - rangeOf(state.range).ms).toISOString(), to: to.toISOString() };
}

/**
 * One refresh's view of the filters, and its reads of the API: each route once per refresh however many
 * panels show it.
 * @typedef {ReturnType<typeof viewOf>} View
 */
export function viewOf() {
  const { from, to } = window_();
  const cluster = state.cluster || undefined;
  const registry = state.registry || undefined;
  const team = state.team || undefined;
  const range = rangeOf(state.range);
  const teamLabel = team ? `team ${team}` : '';
  /** @type {Map<string, Promise<unknown>>} */
  const reads = new Map();
  /** @param {string} path @param {Params} [params] */
  const read = (path, params = {}) => {
    const url = urlOf(path, params);
    let answer = reads.get(url);
    if (!answer) {
      answer = api(path, params);
      reads.set(url, answer);
    }
    return /** @type {Promise<any>} */ (answer);
  };
  return {
    from,
    to,
    cluster,
    registry,
    team,
    range,
    teamLabel,
    /** What every panel's heading names: the range and the filters. */
    scope: [range.label, state.cluster, state.registry, teamLabel].filter(Boolean).join(' · '),
    /** @returns {Promise<T.RegistriesAnswer>} */
    registries: () => read('/v1/registries', { from, to, cluster, team }),
    /** @param {string} name @returns {Promise<T.TrendsAnswer>} */
    trends: (name) => read('/v1/trends', { interval: range.interval, from, to, cluster, team, registry: name }),
    /** @returns {Promise<T.HotspotsAnswer>} */
    hotspots: () => read('/v1/hotspots/rate-limit', { from, to, cluster, registry, team }),
    /** @returns {Promise<T.IncidentsAnswer>} */
    incidents: () => read('/v1/incidents', { status: 'all', from, to, team }),
    /** @returns {Promise<T.StuckAnswer>} */
    stuck: () => read('/v1/pods/stuck', { cluster, team }),
    /** @returns {Promise<T.FailuresAnswer>} */
    failures: () => read('/v1/failures', { from, to, cluster, registry, team, limit: 1000 }),
    /** @returns {Promise<T.QuotaAnswer>} */
    quota: () => read('/v1/quota/docker-hub'),
    /** @returns {Promise<T.RecoveryAnswer>} */
    recovery: () => read('/v1/recovery', { from, to, cluster, team, groupBy: registry ? 'registry' : 'cause' }),
    /** @returns {Promise<T.RisksAnswer>} */
    risks: () => read('/v1/risks', { from, to, cluster, team }),
    /** @returns {Promise<T.TeamsAnswer>} */
    teams: () => read('/v1/teams', { from, to }),
  };
}

/**
 * A panel: reads what it shows for a view, then gives back how to draw it (drawn only if the view is
 * still the current one when every panel has read).
 * @typedef {(view: View) => Promise<() => void>} Panel
 */

/** @param {string} text @param {boolean} [error] */
export function setStatus(text, error = false) {
  const status = $('status');
  if (status.textContent !== text) status.textContent = text;
  status.className = error ? 'error' : '';
}
