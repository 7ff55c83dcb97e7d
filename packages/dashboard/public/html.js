// @ts-check
// Markup helpers: escaping, number and time formats, and the tables every panel draws.
/** @import * as T from './types.js' */

/** @type {Record<string, string>} */
const EVIDENCE = {
  fleet_pulls_same_repository: 'the same repository pulls elsewhere in the fleet',
  similar_fleet_image: 'a similar image pulls in the fleet',
  docker_official_image: 'a Docker official image has this name',
};
/** @type {Record<string, string>} */
const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** @param {unknown} s */
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
/** @param {number} x */
export const pct = (x) => `${(x * 100).toFixed(1)} %`;
/** @param {string} iso */
export const ago = (iso) => {
  const m = Math.round((Date.now() - Date.parse(iso)) / 60000);
  return m < 60 ? `${m} min ago` : m < 48 * 60 ? `${(m / 60).toFixed(1)} h ago` : `${(m / 1440).toFixed(1)} d ago`;
};
/** @param {number | null} s */
export const secs = (s) =>
  s === null
    ? ''
    : s < 120
      ? `${Math.round(s)} s`
      : s < 7200
        ? `${Math.round(s / 60)} min`
        : `${(s / 3600).toFixed(1)} h`;
/** A name that may be long: one line, cut with an ellipsis, whole in the tooltip. */
export const trunc = (/** @type {unknown} */ s) => `<span class="trunc" title="${esc(s)}">${esc(s)}</span>`;
/** A cause for people: `registry_unavailable` → `registry unavailable`. */
export const causeText = (/** @type {unknown} */ c) => esc(String(c ?? '').replaceAll('_', ' '));
/** @param {string | number} v */
export const num = (v) => `<td class="num">${v}</td>`;
/** @param {string} v @param {string} [cls] */
export const td = (v, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${v}</td>`;

/** The registry of an image reference (docker.io when the first part is not a host). */
export function registryOf(/** @type {string} */ image) {
  const first = String(image).split('/')[0] ?? '';
  return String(image).includes('/') && /[.:]|^localhost$/.test(first) ? first : 'docker.io';
}

/** The workload a Pod belongs to, from its generated name (Deployment's ReplicaSet hash, or a suffix). */
export function workloadOf(/** @type {string} */ pod) {
  const m = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/.exec(pod) ?? /^(.+)-[a-z0-9]{5}$/.exec(pod);
  return m?.[1] ?? pod;
}

/**
 * Applies the styles that markup names in `data-css="property:value"`: the page's Content-Security-Policy
 * refuses inline style attributes, and styles set through the CSSOM are allowed.
 * @param {ParentNode} root
 */
export function applyCss(root) {
  for (const el of root.querySelectorAll('[data-css]')) {
    if (!(el instanceof HTMLElement || el instanceof SVGElement)) continue;
    const css = el.dataset.css ?? '';
    const at = css.indexOf(':');
    el.style.setProperty(css.slice(0, at), css.slice(at + 1));
  }
}

/** A column: label (HTML), width, and its cells' class. @typedef {[string, string] | [string, string, string]} Column */

/**
 * Renders a table: each row is its cells' HTML (the first cell a row header). Focus inside the table
 * survives a re-render (by the focused element's data-key).
 * @param {HTMLElement} el
 * @param {Column[]} cols
 * @param {string[][]} rows
 * @param {string} empty
 */
export function table(el, cols, rows, empty) {
  const active = document.activeElement;
  const focused = active instanceof HTMLElement && el.contains(active) ? active.dataset.key : null;
  const colgroup = `<colgroup>${cols.map((c) => `<col data-css="width:${c[1]}">`).join('')}</colgroup>`;
  const head =
    `<thead><tr>` +
    `${cols.map((c) => `<th scope="col"${c[2] ? ` class="${c[2]}"` : ''}>${c[0]}</th>`).join('')}` +
    `</tr></thead>`;
  el.innerHTML = rows.length
    ? `${colgroup}${head}<tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</tbody>`
    : `${colgroup}${head}<tbody><tr><td class="empty" colspan="${cols.length}">${esc(empty)}</td></tr></tbody>`;
  // A detached table is serialised into the dialog (a style set here would become an inline attribute):
  // it gets its styles once inserted.
  if (el.isConnected) applyCss(el);
  if (focused)
    keyed(el)
      .find((b) => b.dataset.key === focused)
      ?.focus();
}

/** The elements with a data-key under root (the buttons that open details). */
export const keyed = (/** @type {ParentNode} */ root) => [...root.querySelectorAll('[data-key]')].filter(isHtml);
/** @param {Element} e @returns {e is HTMLElement} */
function isHtml(e) {
  return e instanceof HTMLElement;
}

/** A row header holding the button that opens the detail dialog. */
export const opener = (/** @type {string} */ key, /** @type {string} */ label, /** @type {string} */ title) =>
  `<th scope="row"><button type="button" class="open" data-key="${esc(key)}" ` +
  `title="${esc(title)}">${label}</button></th>`;

/** The hint and suggested image of an item, as HTML. @param {T.Advice} item */
export function hintCell(item) {
  const parts = [];
  if (item.hint) parts.push(`<span class="hint-text">${esc(item.hint)}</span>`);
  if (item.suggestion)
    parts.push(
      `<span class="suggest">suggested image: ` +
        `<code>${esc(item.suggestion)}</code>${
          item.evidence ? ` — ${esc(EVIDENCE[item.evidence] ?? item.evidence)}` : ''
        }</span>`,
    );
  else if (item.evidence) parts.push(`<span class="suggest">${esc(EVIDENCE[item.evidence] ?? item.evidence)}</span>`);
  return parts.join('');
}
