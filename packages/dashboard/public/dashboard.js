// @ts-check
// pullwatch dashboard: reads only the public /v1 API with the bearer token from the URL fragment
// (`#token=…`, what `npm start` prints) or the form, kept in localStorage. The view (time range,
// cluster, registry, team, open detail) lives in the fragment too, so a link reproduces it:
// `#range=6h&cluster=prod-eu-west&registry=docker.io&team=payments&detail=registry%3Adocker.io`.
// Each panel is a module of ./panels; the state, the token and the reads are in ./core.js.
/** @import { Panel } from './core.js' */
import { $, ApiError, REFRESH_MS, readHash, setStatus, state, viewKey, viewOf, writeHash } from './core.js';
import { detailOpen, openDetail } from './detail.js';
import { filters, syncControls } from './panels/filters.js';
import { hotspots } from './panels/hotspots.js';
import { images } from './panels/images.js';
import { incidents } from './panels/incidents.js';
import { quota } from './panels/quota.js';
import { recovery } from './panels/recovery.js';
import { registries } from './panels/registries.js';
import { risks } from './panels/risks.js';
import { stuck } from './panels/stuck.js';
import { trends } from './panels/trends.js';

/** @type {Panel[]} */
const PANELS = [filters, trends, registries, incidents, stuck, hotspots, images, quota, recovery, risks];

let generation = 0;
/** Reads every panel's answers, then draws them all, unless a newer refresh started meanwhile. */
async function refresh() {
  const gen = ++generation;
  const view = viewOf();
  document.body.dataset.loading = 'true';
  try {
    const draws = await Promise.all(PANELS.map((panel) => panel(view)));
    if (gen !== generation) return;
    for (const draw of draws) draw();
    // The live region changes only when the view or its state does, not on every refresh; the time is beside it.
    setStatus(`updated · ${view.scope} · refreshes every ${REFRESH_MS / 1000} s`);
    $('updated-at').textContent = `at ${new Date().toLocaleTimeString()}`;
    document.body.dataset.view = viewKey();
    document.body.dataset.loading = 'false';
    if (state.detail && !detailOpen()) void openDetail(state.detail, null);
  } catch (err) {
    if (gen !== generation) return;
    document.body.dataset.loading = 'false';
    const status = err instanceof ApiError ? err.status : undefined;
    if (status === 401) {
      setStatus('a valid API token is needed', true);
      $('token-form').hidden = false;
    } else {
      setStatus(status === 503 ? 'ClickHouse unavailable — retrying' : `error: ${errorText(err)}`, true);
    }
  }
}

/** @param {unknown} err */
const errorText = (err) => (err instanceof Error ? err.message : String(err));

function applyControls() {
  state.range = $('f-range', HTMLSelectElement).value;
  state.cluster = $('f-cluster', HTMLSelectElement).value;
  state.registry = $('f-registry', HTMLSelectElement).value;
  state.team = $('f-team', HTMLSelectElement).value;
  writeHash();
  document.body.dataset.view = '';
  setStatus('loading…');
  void refresh();
}
$('filters').addEventListener('change', applyControls);
$('filters').addEventListener('submit', (e) => e.preventDefault());

window.addEventListener('hashchange', () => {
  readHash();
  syncControls();
  void refresh();
});

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  localStorage.setItem('pullwatch-token', $('token-input', HTMLInputElement).value.trim());
  $('token-form').hidden = true;
  void refresh();
});

readHash();
syncControls();
void refresh();
setInterval(refresh, REFRESH_MS);
