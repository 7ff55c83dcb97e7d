// @ts-check
// Images likely to fail next: no pull secret for a private registry, Always-pull from a rate-limited one,
// mutable tags.
/** @import { Panel } from '../core.js' */
import { $ } from '../core.js';
import { esc, num, registryOf, table, td, trunc } from '../html.js';

/** @type {Panel} */
export async function risks(view) {
  const answer = await view.risks();
  const { registry } = view;
  const rows = [
    ...answer.privateWithoutPullSecrets.map((r) => ({
      kind: `no pull secret (${r.pullSecrets})`,
      image: r.image,
      registry: r.registry,
      pods: r.pods,
    })),
    ...answer.alwaysPullFromRateLimitedRegistries.map((r) => ({
      kind: 'Always pull, rate-limited registry',
      image: r.image,
      registry: r.registry,
      pods: r.pods,
    })),
    ...answer.mutableTags.map((r) => ({
      kind: `mutable tag: ${r.tag}`,
      image: r.image,
      registry: registryOf(r.image),
      pods: r.pods,
    })),
  ].filter((r) => !registry || r.registry === registry);
  return () => {
    $('h-risks').textContent = `Risks (${view.scope})`;
    table(
      $('risks'),
      [
        ['image', '44%'],
        ['risk', '40%'],
        ['Pods', '16%', 'num'],
      ],
      rows.map((r) => [`<th scope="row">${trunc(r.image)}</th>`, td(esc(r.kind), 'wrap'), num(r.pods)]),
      'no risks in this view',
    );
  };
}
