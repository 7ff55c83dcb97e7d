// @ts-check
// The /v1 answers the dashboard reads, as far as it reads them. Types only: nothing imports this file at
// run time (JSDoc `import('./types.js')` types are erased), so the browser never loads it.

/**
 * @typedef {object} Advice What the classifier tells the user about a failure.
 * @property {string | null} [hint]
 * @property {string | null} [suggestion]
 * @property {string | null} [evidence]
 */

/**
 * @typedef {object} Registry A row of `/v1/registries`.
 * @property {string} registry
 * @property {number} failures
 * @property {number} successes
 * @property {number} failureRate
 * @property {number} pods
 * @property {number} clusters
 * @property {Record<string, number>} byCause
 */
/** @typedef {{ registries: Registry[] }} RegistriesAnswer */

/** @typedef {{ ts: string, failures: number, successes: number }} TrendBucket */
/** @typedef {{ series: TrendBucket[] }} TrendsAnswer */

/** @typedef {{ registry: string, cluster: string, failures: number }} Hotspot */
/** @typedef {{ hotspots: Hotspot[] }} HotspotsAnswer */

/**
 * @typedef {Advice & {
 *   id: string, registry: string, cause: string, scope: string, status: string,
 *   clusters: string[], images: string[], failures: number,
 *   start: string, end: string | null, lastSeen: string,
 * }} Incident
 */
/** @typedef {{ incidents: Incident[] }} IncidentsAnswer */

/**
 * @typedef {Advice & {
 *   cluster: string, namespace: string, pod: string, image: string, registry: string,
 *   cause: string, since: string, attempts: number,
 * }} StuckPod
 */
/** @typedef {{ pods: StuckPod[] }} StuckAnswer */

/**
 * @typedef {Advice & {
 *   cluster: string, namespace: string, pod: string, image: string, cause: string, occurrences: number,
 * }} Failure
 */
/** @typedef {{ failures: Failure[], nextCursor?: string | null }} FailuresAnswer */

/**
 * @typedef {object} Egress A row of `/v1/quota/docker-hub`.
 * @property {string} egress
 * @property {string[]} clusters
 * @property {number} used
 * @property {number} limit
 * @property {number} ratePerHour
 * @property {string} level `ok`, `near` or `full`, decided by the API with the alert rule's threshold
 * @property {string | null} exhaustedAt
 * @property {number} rateLimitedFailures
 */
/**
 * @typedef {object} Account A Docker Hub account's bucket in `/v1/quota/docker-hub` (authenticated pulls).
 * @property {string} account
 * @property {boolean} configured false: named only by Docker Hub's 429s, none of its pulls attributed
 * @property {string[]} clusters
 * @property {number} used
 * @property {number} limit
 * @property {string} window
 * @property {number} ratePerHour
 * @property {string} level `ok`, `near` or `full` (also `full` when Docker Hub refused it within the hour)
 * @property {string | null} exhaustedAt
 * @property {number} rateLimitedFailures
 * @property {string | null} lastRateLimitedAt
 */
/** @typedef {{ window: string, egresses: Egress[], accounts: Account[] }} QuotaAnswer */

/**
 * @typedef {object} RecoveryGroup A row of `/v1/recovery` (by `registry` or by `cause`).
 * @property {string} [registry]
 * @property {string} [cause]
 * @property {number} count
 * @property {number | null} p50
 * @property {number | null} p90
 * @property {number | null} max
 * @property {number} stillStuck
 */
/** @typedef {{ groups: RecoveryGroup[] }} RecoveryAnswer */

/**
 * @typedef {object} RisksAnswer
 * @property {{ image: string, registry: string, pods: number, pullSecrets: string }[]} privateWithoutPullSecrets
 * @property {{ image: string, registry: string, pods: number }[]} alwaysPullFromRateLimitedRegistries
 * @property {{ image: string, tag: string, pods: number }[]} mutableTags
 */

/** @typedef {{ team: string, clusters: string[] }} Team */
/** @typedef {{ teams: Team[] }} TeamsAnswer */

export {};
