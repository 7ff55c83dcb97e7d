// @ts-check
// Docker Hub's pull quota per egress address (anonymous pulls) and per account (authenticated pulls).
/** @import { Panel } from '../core.js' */
import { $ } from '../core.js';
import { esc, num, table, td, trunc } from '../html.js';

const LEVELS = ['ok', 'near', 'full'];

/** The API decides the level with the alert rule's threshold: one number for both. */
const levelOf = (/** @type {{ level: string }} */ q) => (LEVELS.includes(q.level) ? q.level : 'ok');

/** When the quota runs out at the current rate: now, a time of day, or nothing. */
const emptyAt = (/** @type {string | null} */ at) =>
  at
    ? Date.parse(at) <= Date.now()
      ? 'now'
      : new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : '';

/** @type {Panel} */
export async function quota(view) {
  const [answer, teams] = await Promise.all([view.quota(), view.teams()]);
  const { cluster, registry, team } = view;
  // The clusters of the team's namespaces (none for a team nobody has).
  const teamClusters = new Set(teams.teams.find((t) => t.team === team)?.clusters ?? []);
  // Docker Hub counts per egress address or account, whoever pulls: a team sees the buckets of its clusters, whole.
  const shown = (/** @type {{ clusters: string[] }} */ q) =>
    (!cluster || q.clusters.includes(cluster)) && (!team || q.clusters.some((c) => teamClusters.has(c)));
  const egresses = answer.egresses.filter(shown);
  const accounts = answer.accounts.filter(shown);
  const otherRegistry = Boolean(registry && registry !== 'docker.io');
  return () =>
    table(
      $('quota'),
      [
        ['egress / account', '32%'],
        [`used (${esc(answer.window)})`, '23%', 'num'],
        ['<abbr title="pulls in the last hour">per h</abbr>', '14%', 'num'],
        ['<abbr title="quota used up">empty</abbr>', '16%'],
        ['<abbr title="rate-limited failures">429s</abbr>', '15%', 'num'],
      ],
      otherRegistry
        ? []
        : [
            ...egresses.map((q) => {
              const level = levelOf(q);
              return [
                `<th scope="row">${trunc(q.egress)}</th>`,
                num(`<span class="quota quota-${level}">${q.used} / ${q.limit}</span>`),
                num(q.ratePerHour),
                td(emptyAt(q.exhaustedAt)),
                num(q.rateLimitedFailures || ''),
              ];
            }),
            // Below the egresses: authenticated pulls count against the account, wherever they come from.
            ...accounts.map((q) => {
              const level = levelOf(q);
              const other = q.window === answer.window ? '' : ` per ${esc(q.window)}`;
              const used = q.configured
                ? `${q.used} / ${q.limit}${other}`
                : // Docker Hub named it in its 429s; the settings do not say which pulls are its.
                  '<abbr title="named by Docker Hub\'s 429s; the settings do not say which pulls are its">known from 429s only</abbr>';
              const refused = q.lastRateLimitedAt ? ` title="last at ${esc(q.lastRateLimitedAt)}"` : '';
              return [
                `<th scope="row">${trunc(`account: ${q.account}`)}</th>`,
                num(`<span class="quota quota-${level}${q.configured ? '' : ' quota-note'}">${used}</span>`),
                num(q.configured ? q.ratePerHour : ''),
                // Refused by Docker Hub within the hour: empty now, whatever the fleet counted.
                td(q.exhaustedAt || level !== 'full' ? emptyAt(q.exhaustedAt) : 'now'),
                num(q.rateLimitedFailures ? `<span${refused}>${q.rateLimitedFailures}</span>` : ''),
              ];
            }),
          ],
      otherRegistry ? 'Docker Hub (docker.io) only' : 'no Docker Hub pulls in the window',
    );
}
