// @ts-check
// Where registries answer 429, shaded by count.
/** @import { Panel } from '../core.js' */
import { $ } from '../core.js';
import { table, td, trunc } from '../html.js';

/** @type {Panel} */
export async function hotspots(view) {
  const answer = await view.hotspots();
  return () => {
    const maxHot = Math.max(1, ...answer.hotspots.map((h) => h.failures));
    $('h-hotspots').textContent = `Rate-limit hotspots (${view.scope})`;
    table(
      $('hotspots'),
      [
        ['registry', '40%'],
        ['cluster', '35%'],
        ['429s', '25%', 'num'],
      ],
      answer.hotspots.map((h) => [
        `<th scope="row">${trunc(h.registry)}</th>`,
        td(trunc(h.cluster)),
        `<td class="num heat" data-css="--heat:${Math.round((h.failures / maxHot) * 100)}%">${h.failures}</td>`,
      ]),
      'no rate limiting in this view',
    );
  };
}
