// @ts-check
// The registries table: pulls, failures and the top cause of each registry.
/** @import { Panel } from '../core.js' */
import { $ } from '../core.js';
import { causeText, num, opener, pct, table, td, trunc } from '../html.js';

/** @type {Panel} */
export async function registries(view) {
  const answer = await view.registries();
  // The registry filter is applied here, on the rows (the route has no registry parameter).
  const regs = answer.registries.filter((r) => !view.registry || r.registry === view.registry);
  return () => {
    $('h-registries').textContent = `Registries (${view.scope})`;
    table(
      $('registries'),
      [
        ['registry', '31%'],
        ['<abbr title="failed pulls">failed</abbr>', '15%', 'num'],
        ['<abbr title="successful pulls">pulled</abbr>', '15%', 'num'],
        ['rate', '15%', 'num'],
        ['top cause', '24%'],
      ],
      regs.map((r) => {
        const cause = Object.entries(r.byCause).sort((a, b) => b[1] - a[1])[0];
        return [
          opener(`registry:${r.registry}`, trunc(r.registry), `details of ${r.registry}`),
          num(r.failures),
          num(r.successes),
          num(pct(r.failureRate)),
          td(cause ? `${causeText(cause[0])} (${cause[1]})` : '', 'wrap'),
        ];
      }),
      'no pulls in this view',
    );
  };
}
