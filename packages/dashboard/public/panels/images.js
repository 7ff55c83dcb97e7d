// @ts-check
// The ten images that failed most, from the newest failure records.
/** @import { Panel } from '../core.js' */
import { $ } from '../core.js';
import { causeText, num, table, td, trunc } from '../html.js';

/** @type {Panel} */
export async function images(view) {
  const answer = await view.failures();
  /** @type {Map<string, { image: string, cause: string, failures: number, clusters: Set<string> }>} */
  const byImage = new Map();
  for (const f of answer.failures) {
    const e = byImage.get(f.image) ?? { image: f.image, cause: f.cause, failures: 0, clusters: new Set() };
    e.failures += f.occurrences;
    e.clusters.add(f.cluster);
    byImage.set(f.image, e);
  }
  return () => {
    $('h-images').textContent = `Top failing images (${view.scope})`;
    table(
      $('images'),
      [
        ['image', '43%'],
        ['cause', '26%'],
        ['failed', '15%', 'num'],
        ['clusters', '16%', 'num'],
      ],
      [...byImage.values()]
        .sort((a, b) => b.failures - a.failures || (a.image < b.image ? -1 : 1))
        .slice(0, 10)
        .map((e) => [
          `<th scope="row">${trunc(e.image)}</th>`,
          td(causeText(e.cause), 'wrap'),
          num(e.failures),
          num(e.clusters.size),
        ]),
      'no failures in this view',
    );
    $('images-note').textContent = answer.nextCursor ? 'From the newest 1000 failure records.' : '';
  };
}
