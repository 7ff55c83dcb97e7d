// @ts-check
// The filter lists: every cluster, registry and team any answer named.
/** @import { Panel } from '../core.js' */
import { $, known, state } from '../core.js';
import { esc } from '../html.js';

/**
 * @param {HTMLSelectElement} select
 * @param {Iterable<string>} values
 * @param {string} allLabel
 * @param {string} selected
 */
function setOptions(select, values, allLabel, selected) {
  const all = [...new Set([...values, ...(selected ? [selected] : [])])].sort();
  const want = ['', ...all].join('\n');
  if (select.dataset.values !== want) {
    select.innerHTML =
      `<option value="">${esc(allLabel)}</option>` + `${all.map((v) => `<option>${esc(v)}</option>`).join('')}`;
    select.dataset.values = want;
  }
  select.value = selected;
}

/** Shows the view in the filter controls. */
export function syncControls() {
  $('f-range', HTMLSelectElement).value = state.range;
  setOptions($('f-cluster', HTMLSelectElement), known.clusters, 'all clusters', state.cluster);
  setOptions($('f-registry', HTMLSelectElement), known.registries, 'all registries', state.registry);
  setOptions($('f-team', HTMLSelectElement), known.teams, 'all teams', state.team);
}

/** @type {Panel} */
export async function filters(view) {
  const [registries, quota, incidents, stuck, failures, teams] = await Promise.all([
    view.registries(),
    view.quota(),
    view.incidents(),
    view.stuck(),
    view.failures(),
    view.teams(),
  ]);
  return () => {
    for (const r of registries.registries) known.registries.add(r.registry);
    for (const q of quota.egresses) for (const c of q.clusters) known.clusters.add(c);
    for (const i of incidents.incidents) for (const c of i.clusters) known.clusters.add(c);
    for (const p of stuck.pods) known.clusters.add(p.cluster);
    for (const f of failures.failures) known.clusters.add(f.cluster);
    for (const t of teams.teams) {
      known.teams.add(t.team);
      for (const c of t.clusters) known.clusters.add(c);
    }
    setOptions($('f-cluster', HTMLSelectElement), known.clusters, 'all clusters', state.cluster);
    setOptions($('f-registry', HTMLSelectElement), known.registries, 'all registries', state.registry);
    setOptions($('f-team', HTMLSelectElement), known.teams, 'all teams', state.team);
  };
}
