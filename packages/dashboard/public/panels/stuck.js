// @ts-check
// The Pods stuck now.
/** @import { Panel } from '../core.js' */
import { $, state } from '../core.js';
import { ago, causeText, hintCell, num, table, td, trunc } from '../html.js';

/** @type {Panel} */
export async function stuck(view) {
  const answer = await view.stuck();
  const pods = answer.pods.filter((p) => !view.registry || p.registry === view.registry);
  return () => {
    $('h-stuck').textContent =
      `Stuck Pods now (${[state.cluster, state.registry, view.teamLabel].filter(Boolean).join(' · ') || 'all'})`;
    table(
      $('stuck'),
      [
        ['pod', '30%'],
        ['cause', '15%'],
        ['since', '11%'],
        ['attempts', '10%', 'num'],
        ['hint', '34%'],
      ],
      pods.map((p) => [
        `<th scope="row">${trunc(`${p.cluster}/${p.namespace}/${p.pod}`)}${trunc(p.image)}</th>`,
        td(causeText(p.cause), 'wrap'),
        td(ago(p.since)),
        num(p.attempts),
        td(hintCell(p), 'wrap hint'),
      ]),
      'no stuck Pods',
    );
  };
}
