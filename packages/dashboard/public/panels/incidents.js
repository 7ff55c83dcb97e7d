// @ts-check
// The incidents table, open ones first.
/** @import { Panel } from '../core.js' */
import { $, last } from '../core.js';
import { ago, causeText, esc, num, opener, table, td, trunc } from '../html.js';

/** @type {Panel} */
export async function incidents(view) {
  const answer = await view.incidents();
  const { cluster, registry } = view;
  const incs = answer.incidents
    .filter((i) => (!cluster || i.clusters.includes(cluster)) && (!registry || i.registry === registry))
    .sort((a, b) => (a.status === b.status ? 0 : a.status === 'open' ? -1 : 1));
  return () => {
    last.incidents = incs;
    $('h-incidents').textContent = `Incidents (${view.scope})`;
    table(
      $('incidents'),
      [
        ['registry · cause', '26%'],
        ['scope', '11%'],
        ['clusters', '22%'],
        ['images', '21%'],
        ['failed', '10%', 'num'],
        ['since', '10%'],
      ],
      incs.map((i) => [
        opener(
          `incident:${i.id}`,
          `${trunc(i.registry)}<span class="sub">${causeText(i.cause)}</span>`,
          `details of the ${i.scope} incident: ${i.registry}, ${i.cause}`,
        ),
        td(
          `<span class="tag ` +
            `scope-${esc(i.scope)}">${esc(i.scope)}</span>${
              i.status === 'open' ? '' : `<span class="sub">${esc(i.status)}</span>`
            }`,
        ),
        td(i.clusters.map((c) => `<span class="tag">${esc(c)}</span>`).join('')),
        td(
          `${i.images
            .slice(0, 2)
            .map((m) => trunc(m))
            .join('')}${i.images.length > 2 ? `<span class="sub">+${i.images.length - 2} more</span>` : ''}`,
        ),
        num(i.failures),
        td(ago(i.start)),
      ]),
      'no incidents in this view',
    );
  };
}
