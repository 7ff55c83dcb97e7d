// @ts-check
// Docker Hub's pull quota per egress address.
/** @import { Panel } from '../core.js' */
import { $ } from '../core.js';
import { esc, num, table, td, trunc } from '../html.js';

const LEVELS = ['ok', 'near', 'full'];

/** @type {Panel} */
export async function quota(view) {
  const [answer, teams] = await Promise.all([view.quota(), view.teams()]);
  const { cluster, registry, team } = view;
  // The clusters of the team's namespaces (none for a team nobody has).
  const teamClusters = new Set(teams.teams.find((t) => t.team === team)?.clusters ?? []);
  // Docker Hub counts per egress address, whoever pulls: a team sees the egresses of its clusters, whole.
  const egresses = answer.egresses.filter(
    (q) => (!cluster || q.clusters.includes(cluster)) && (!team || q.clusters.some((c) => teamClusters.has(c))),
  );
  const otherRegistry = Boolean(registry && registry !== 'docker.io');
  return () =>
    table(
      $('quota'),
      [
        ['egress', '32%'],
        [`used (${esc(answer.window)})`, '23%', 'num'],
        ['<abbr title="pulls in the last hour">per h</abbr>', '14%', 'num'],
        ['<abbr title="quota used up">empty</abbr>', '16%'],
        ['<abbr title="rate-limited failures">429s</abbr>', '15%', 'num'],
      ],
      otherRegistry
        ? []
        : egresses.map((q) => {
            // The API decides the level with the alert rule's threshold: one number for both.
            const level = LEVELS.includes(q.level) ? q.level : 'ok';
            return [
              `<th scope="row">${trunc(q.egress)}</th>`,
              num(`<span class="quota quota-${level}">${q.used} / ${q.limit}</span>`),
              num(q.ratePerHour),
              td(
                q.exhaustedAt
                  ? Date.parse(q.exhaustedAt) <= Date.now()
                    ? 'now'
                    : new Date(q.exhaustedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
                  : '',
              ),
              num(q.rateLimitedFailures || ''),
            ];
          }),
      otherRegistry ? 'Docker Hub (docker.io) only' : 'no Docker Hub pulls in the window',
    );
}
