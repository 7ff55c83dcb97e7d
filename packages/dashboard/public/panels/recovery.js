// @ts-check
// How long failing Pods took to recover, by cause (or by registry when one is selected).
/** @import { Panel } from '../core.js' */
import { $ } from '../core.js';
import { causeText, num, secs, table, trunc } from '../html.js';

/** @type {Panel} */
export async function recovery(view) {
  const answer = await view.recovery();
  const { registry } = view;
  const groups = answer.groups.filter((g) => !registry || g.registry === registry);
  return () => {
    $('h-recovery').textContent = `Time to recover (${view.scope})`;
    table(
      $('recovery'),
      [
        [registry ? 'registry' : 'cause', '28%'],
        ['<abbr title="Pods recovered">Pods</abbr>', '13%', 'num'],
        ['p50', '15%', 'num'],
        ['p90', '15%', 'num'],
        ['max', '15%', 'num'],
        ['<abbr title="Pods still stuck">stuck</abbr>', '14%', 'num'],
      ],
      groups.map((g) => [
        `<th ` +
          `scope="row">${
            registry
              ? trunc(g.registry)
              : `<span class="trunc" title="${causeText(g.cause)}">${causeText(g.cause)}</span>`
          }</th>`,
        num(g.count),
        num(secs(g.p50)),
        num(secs(g.p90)),
        num(secs(g.max)),
        num(g.stillStuck || ''),
      ]),
      'no failures in this view',
    );
  };
}
