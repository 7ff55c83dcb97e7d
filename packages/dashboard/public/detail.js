// @ts-check
// The detail dialog of a registry or an incident: causes, clusters, workloads and stuck Pods.
/** @import * as T from './types.js' */
/** @import { Column } from './html.js' */
import { $, api, last, rangeOf, state, window_, writeHash } from './core.js';
import { ago, applyCss, causeText, esc, hintCell, keyed, num, pct, table, td, trunc, workloadOf } from './html.js';

/** Where focus goes back to when the dialog closes. @type {HTMLElement | null} */
let returnFocus = null;

/** @typedef {{ cluster: string, failures: number, pods: Set<string>, causes: Set<string> }} ClusterSum */
/** @typedef {{ key: string, image: string, failures: number, pods: Set<string>, item: T.Failure }} WorkloadSum */
/** @typedef {{ cause: string, failures: number, hints: Map<string, number> }} CauseSum */

/** @param {T.Failure[]} failures */
function summarize(failures) {
  /** @type {Map<string, ClusterSum>} */
  const clusters = new Map();
  /** @type {Map<string, WorkloadSum>} */
  const workloads = new Map();
  /** @type {Map<string, CauseSum>} */
  const causes = new Map();
  for (const f of failures) {
    const c = clusters.get(f.cluster) ?? { cluster: f.cluster, failures: 0, pods: new Set(), causes: new Set() };
    c.failures += f.occurrences;
    c.pods.add(`${f.namespace}/${f.pod}`);
    c.causes.add(f.cause);
    clusters.set(f.cluster, c);
    const wk = `${f.cluster}/${f.namespace}/${workloadOf(f.pod)}`;
    const w = workloads.get(wk) ?? { key: wk, image: f.image, failures: 0, pods: new Set(), item: f };
    w.failures += f.occurrences;
    w.pods.add(f.pod);
    if (!w.item.suggestion && f.suggestion) w.item = f;
    workloads.set(wk, w);
    const k = causes.get(f.cause) ?? { cause: f.cause, failures: 0, hints: new Map() };
    k.failures += f.occurrences;
    if (f.hint) k.hints.set(f.hint, (k.hints.get(f.hint) ?? 0) + f.occurrences);
    causes.set(f.cause, k);
  }
  const byFailures = (/** @type {{ failures: number }} */ a, /** @type {{ failures: number }} */ b) =>
    b.failures - a.failures;
  return {
    clusters: [...clusters.values()].sort(byFailures),
    workloads: [...workloads.values()].sort(byFailures),
    causes: [...causes.values()].sort(byFailures),
  };
}

/** A table serialised into the dialog's markup. @param {Column[]} cols @param {string[][]} rows @param {string} empty */
function mini(cols, rows, empty) {
  const t = document.createElement('table');
  table(t, cols, rows, empty);
  return t.outerHTML;
}

/**
 * @param {ReturnType<typeof summarize>} s
 * @param {T.StuckPod[]} stuckPods
 * @param {string} note
 */
function detailSections(s, stuckPods, note) {
  const out = [];
  out.push(
    `<section class="d-part" aria-labelledby="d-causes"><h3 id="d-causes">Causes and what to do</h3>${mini(
      [
        ['cause', '24%'],
        ['failures', '14%', 'num'],
        ['hint', '62%'],
      ],
      s.causes.map((c) => [
        `<th scope="row">${causeText(c.cause)}</th>`,
        num(c.failures),
        td(esc([...c.hints.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? ''), 'wrap hint'),
      ]),
      'no failure records in this view',
    )}</section>`,
  );
  out.push(
    `<section class="d-part" aria-labelledby="d-clusters"><h3 id="d-clusters">Clusters</h3>${mini(
      [
        ['cluster', '34%'],
        ['failures', '16%', 'num'],
        ['Pods', '14%', 'num'],
        ['causes', '36%'],
      ],
      s.clusters.map((c) => [
        `<th scope="row">${trunc(c.cluster)}</th>`,
        num(c.failures),
        num(c.pods.size),
        td([...c.causes].sort().map(causeText).join(', '), 'wrap'),
      ]),
      'no failure records in this view',
    )}</section>`,
  );
  out.push(
    `<section class="d-part" aria-labelledby="d-workloads"><h3 id="d-workloads">Workloads</h3>${mini(
      [
        ['workload', '28%'],
        ['image', '24%'],
        ['cause', '14%'],
        ['failures', '10%', 'num'],
        ['hint and suggestion', '24%'],
      ],
      s.workloads
        .slice(0, 50)
        .map((w) => [
          `<th scope="row">${trunc(w.key)}<span class="sub">${w.pods.size} ` +
            `Pod${w.pods.size === 1 ? '' : 's'}</span></th>`,
          td(trunc(w.image)),
          td(causeText(w.item.cause), 'wrap'),
          num(w.failures),
          td(hintCell(w.item), 'wrap hint'),
        ]),
      'no failure records in this view',
    )}</section>`,
  );
  out.push(
    `<section class="d-part" aria-labelledby="d-stuck"><h3 id="d-stuck">Stuck Pods now</h3>${mini(
      [
        ['pod', '30%'],
        ['image', '22%'],
        ['cause', '14%'],
        ['attempts', '10%', 'num'],
        ['hint and suggestion', '24%'],
      ],
      stuckPods.map((p) => [
        `<th scope="row">${trunc(`${p.cluster}/${p.namespace}/${p.pod}`)}<span ` +
          `class="sub">since ${ago(p.since)}</span></th>`,
        td(trunc(p.image)),
        td(causeText(p.cause), 'wrap'),
        num(p.attempts),
        td(hintCell(p), 'wrap hint'),
      ]),
      'no stuck Pods',
    )}</section>`,
  );
  if (note) out.push(`<p class="note">${esc(note)}</p>`);
  return out.join('');
}

const SAMPLED = 'Clusters, workloads and hints from the newest 1000 failure records.';

/** @param {string} key @param {string} id */
async function showRegistry(key, id) {
  const cluster = state.cluster || undefined;
  const team = state.team || undefined;
  const { from, to } = window_();
  /** @type {[T.FailuresAnswer, T.StuckAnswer, T.RegistriesAnswer]} */
  const [failures, stuck, regs] = await Promise.all([
    api('/v1/failures', { from, to, cluster, team, registry: id, limit: 1000 }),
    api('/v1/pods/stuck', { cluster, team }),
    api('/v1/registries', { from, to, cluster, team }),
  ]);
  if (state.detail !== key) return;
  const r = regs.registries.find((x) => x.registry === id);
  const scope = [rangeOf(state.range).label, state.cluster, team ? `team ${team}` : ''].filter(Boolean).join(' · ');
  const body = $('detail-body');
  body.innerHTML =
    `<p class="d-summary">${
      r
        ? `${r.failures} failures and ${r.successes} successful pulls (${pct(r.failureRate)} failed) ` +
          `· ${r.pods} failing Pods in ${r.clusters} cluster${r.clusters === 1 ? '' : 's'}`
        : 'no pulls'
    } · ${esc(scope)}</p>` +
    detailSections(
      summarize(failures.failures),
      stuck.pods.filter((p) => p.registry === id),
      failures.nextCursor ? SAMPLED : '',
    );
  applyCss(body);
}

/** @param {string} key @param {string} id */
async function showIncident(key, id) {
  const body = $('detail-body');
  let inc = last.incidents.find((i) => i.id === id);
  if (!inc) {
    /** @type {T.IncidentsAnswer} */
    const all = await api('/v1/incidents', { status: 'all', ...window_() });
    inc = all.incidents.find((i) => i.id === id);
  }
  if (!inc) {
    body.innerHTML = '<p class="note">This incident is not in the selected time range.</p>';
    return;
  }
  const { images, clusters } = inc;
  const to = new Date(Math.min(Date.now(), Date.parse(inc.end ?? inc.lastSeen) + 60_000)).toISOString();
  /** @type {[T.FailuresAnswer, T.StuckAnswer]} */
  const [failures, stuck] = await Promise.all([
    api('/v1/failures', { from: inc.start, to, registry: inc.registry, limit: 1000 }),
    api('/v1/pods/stuck', {}),
  ]);
  if (state.detail !== key) return;
  const mine = failures.failures.filter((f) => images.includes(f.image) && clusters.includes(f.cluster));
  $('detail-title').textContent = `Incident: ${inc.registry} · ${inc.cause}`;
  body.innerHTML =
    `<p class="d-summary"><span class="tag scope-${esc(inc.scope)}">${esc(inc.scope)}</span> ` +
    `${esc(inc.status)} · ${inc.failures} failures · from ${esc(new Date(inc.start).toLocaleString())} ${
      inc.end ? `to ${esc(new Date(inc.end).toLocaleString())}` : `(last seen ${ago(inc.lastSeen)})`
    }</p>` +
    `<p class="d-summary">clusters: ${clusters.map((c) => `<span class="tag">${esc(c)}</span>`).join('')}</p>` +
    `<p class="d-summary">images: ${images.map((m) => `<code class="img">${esc(m)}</code>`).join(' ')}</p>` +
    (inc.hint || inc.suggestion ? `<p class="d-summary hint">${hintCell(inc)}</p>` : '') +
    detailSections(
      summarize(mine),
      stuck.pods.filter((p) => images.includes(p.image) && clusters.includes(p.cluster)),
      failures.nextCursor ? SAMPLED : '',
    );
  applyCss(body);
}

/**
 * Opens the dialog for `registry:NAME` or `incident:ID`, from the button that asked (focus returns there).
 * @param {string} key
 * @param {HTMLElement | null} from
 */
export async function openDetail(key, from) {
  const dialog = $('detail', HTMLDialogElement);
  returnFocus = from;
  state.detail = key;
  writeHash();
  const [kind, ...rest] = key.split(':');
  const id = rest.join(':');
  $('detail-title').textContent = kind === 'incident' ? 'Incident' : `Registry ${id}`;
  $('detail-body').innerHTML = '<p class="note">loading…</p>';
  if (!dialog.open) dialog.showModal();
  try {
    if (kind === 'registry') await showRegistry(key, id);
    else await showIncident(key, id);
  } catch (err) {
    $('detail-body').innerHTML = `<p class="note error">error: ${esc(err instanceof Error ? err.message : err)}</p>`;
  }
}

/** Whether the dialog is open now. */
export const detailOpen = () => $('detail', HTMLDialogElement).open;

const dialog = $('detail', HTMLDialogElement);
dialog.addEventListener('close', () => {
  state.detail = '';
  writeHash();
  const back =
    returnFocus && document.contains(returnFocus)
      ? returnFocus
      : returnFocus
        ? keyed(document).find((b) => b.matches('button.open') && b.dataset.key === returnFocus?.dataset.key)
        : null;
  back?.focus();
});
$('detail-close').addEventListener('click', () => dialog.close());
// A click on the backdrop (the dialog element itself, outside its content) closes it too.
dialog.addEventListener('click', (e) => {
  if (e.target === dialog) dialog.close();
});

// A click anywhere on a registry or incident row opens its details; the row's button does it from the keyboard.
document.querySelector('main')?.addEventListener('click', (e) => {
  const row = e.target instanceof Element ? e.target.closest('tr') : null;
  const button = row?.querySelector('button.open');
  if (button instanceof HTMLButtonElement && button.dataset.key) void openDetail(button.dataset.key, button);
});
