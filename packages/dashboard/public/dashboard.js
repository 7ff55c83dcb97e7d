// pullwatch dashboard: reads only the public /v1 API with the bearer token from the URL fragment
// (`#token=…`, what `npm start` prints) or the form, kept in localStorage. The view (time range,
// cluster, registry, team, open detail) lives in the fragment too, so a link reproduces it:
// `#range=6h&cluster=prod-eu-west&registry=docker.io&team=payments&detail=registry%3Adocker.io`.
const REFRESH_MS = 10_000;
const COLORS = ['#c8372d', '#2456a6', '#a86400', '#2f7d45', '#7a3fb0', '#0f7a7a'];
const RANGES = {
  '1h': { ms: 3_600_000, interval: '1m', label: 'last 1 h', bucket: '1-minute' },
  '6h': { ms: 6 * 3_600_000, interval: '5m', label: 'last 6 h', bucket: '5-minute' },
  '24h': { ms: 24 * 3_600_000, interval: '1h', label: 'last 24 h', bucket: 'hourly' },
  '7d': { ms: 7 * 86_400_000, interval: '1h', label: 'last 7 d', bucket: 'hourly' },
};
const INTERVAL_MS = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 };
const EVIDENCE = {
  fleet_pulls_same_repository: 'the same repository pulls elsewhere in the fleet',
  similar_fleet_image: 'a similar image pulls in the fleet',
  docker_official_image: 'a Docker official image has this name',
};
const $ = (id) => document.getElementById(id);

/** The view; `detail` is `registry:NAME` or `incident:ID`. */
const state = { range: '24h', cluster: '', registry: '', team: '', detail: '' };
/** Clusters, registries and teams seen in any answer, for the filter lists. */
const known = { clusters: new Set(), registries: new Set(), teams: new Set() };
/** The last answers, for the detail dialog. */
const last = { registries: [], incidents: [], stuck: [] };

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const t = p.get('token');
  if (t) localStorage.setItem('pullwatch-token', t);
  state.range = RANGES[p.get('range')] ? p.get('range') : '24h';
  state.cluster = p.get('cluster') ?? '';
  state.registry = p.get('registry') ?? '';
  state.team = p.get('team') ?? '';
  state.detail = p.get('detail') ?? '';
  writeHash();
}

function writeHash() {
  const p = new URLSearchParams({ range: state.range });
  if (state.cluster) p.set('cluster', state.cluster);
  if (state.registry) p.set('registry', state.registry);
  if (state.team) p.set('team', state.team);
  if (state.detail) p.set('detail', state.detail);
  const hash = `#${p}`;
  if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
}

async function api(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const url = q.size ? `${path}?${q}` : path;
  const res = await fetch(url, { headers: { authorization: `Bearer ${localStorage.getItem('pullwatch-token')}` } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.error?.message ?? res.statusText), { status: res.status });
  return body;
}

const esc = (s) =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
const pct = (x) => `${(x * 100).toFixed(1)} %`;
const ago = (iso) => {
  const m = Math.round((Date.now() - Date.parse(iso)) / 60000);
  return m < 60 ? `${m} min ago` : m < 48 * 60 ? `${(m / 60).toFixed(1)} h ago` : `${(m / 1440).toFixed(1)} d ago`;
};
const secs = (s) =>
  s === null
    ? ''
    : s < 120
      ? `${Math.round(s)} s`
      : s < 7200
        ? `${Math.round(s / 60)} min`
        : `${(s / 3600).toFixed(1)} h`;
/** A name that may be long: one line, cut with an ellipsis, whole in the tooltip. */
const trunc = (s) => `<span class="trunc" title="${esc(s)}">${esc(s)}</span>`;
/** A cause for people: `registry_unavailable` → `registry unavailable`. */
const causeText = (c) => esc(String(c ?? '').replaceAll('_', ' '));
const num = (v) => `<td class="num">${v}</td>`;
const td = (v, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${v}</td>`;

/** The registry of an image reference (docker.io when the first part is not a host). */
function registryOf(image) {
  const first = String(image).split('/')[0];
  return String(image).includes('/') && /[.:]|^localhost$/.test(first) ? first : 'docker.io';
}

/** The workload a Pod belongs to, from its generated name (Deployment's ReplicaSet hash, or a suffix). */
function workloadOf(pod) {
  const m = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/.exec(pod) ?? /^(.+)-[a-z0-9]{5}$/.exec(pod);
  return m ? m[1] : pod;
}

/**
 * Applies the styles that markup names in `data-css="property:value"`: the page's Content-Security-Policy
 * refuses inline style attributes, and styles set through the CSSOM are allowed.
 */
function applyCss(root) {
  for (const el of root.querySelectorAll('[data-css]')) {
    const at = el.dataset.css.indexOf(':');
    el.style.setProperty(el.dataset.css.slice(0, at), el.dataset.css.slice(at + 1));
  }
}

/**
 * Renders a table: `cols` are [label, width, class?]; each row is its cells' HTML (the first cell a
 * row header). Focus inside the table survives a re-render (by the focused element's data-key).
 */
function table(el, cols, rows, empty) {
  const focused = el.contains(document.activeElement) ? document.activeElement.dataset.key : null;
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
  if (focused) [...el.querySelectorAll('[data-key]')].find((b) => b.dataset.key === focused)?.focus();
}

/** A row header holding the button that opens the detail dialog. */
const opener = (key, label, title) =>
  `<th scope="row"><button type="button" class="open" data-key="${esc(key)}" ` +
  `title="${esc(title)}">${label}</button></th>`;

function hintCell(item) {
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

function window_() {
  const to = new Date();
  return { from: new Date(to.getTime() - RANGES[state.range].ms).toISOString(), to: to.toISOString() };
}

const fmtDay = (ms) =>
  new Date(ms).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const fmtTime = (ms) => {
  const d = new Date(ms);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return state.range === '7d' ? `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${hm}` : hm;
};

/** The chart: only the buckets from the first to the last one with pulls; gaps without pulls break the lines. */
let lastChart = null;
function lineChart(series, interval) {
  lastChart = { series, interval };
  const el = $('trend-chart');
  const n = series[0]?.buckets.length ?? 0;
  const has = (i) => series.some((s) => s.buckets[i].failures + s.buckets[i].successes > 0);
  let first = -1;
  let lastIdx = -1;
  for (let i = 0; i < n; i++)
    if (has(i)) {
      if (first < 0) first = i;
      lastIdx = i;
    }
  const step = INTERVAL_MS[interval];
  if (first < 0) {
    el.innerHTML = `<p class="nodata">no data in the ${esc(RANGES[state.range].label)}</p>`;
    $('trend-legend').innerHTML = '';
    $('trend-note').textContent = '';
    return;
  }
  const t0 = Date.parse(series[0].buckets[first].ts);
  const t1 = Date.parse(series[0].buckets[lastIdx].ts) + step;
  const w = Math.max(280, Math.floor(el.clientWidth || 800));
  const h = 220;
  const padL = 44;
  const padR = 14;
  const padT = 10;
  const padB = 26;
  const count = lastIdx - first + 1;
  const rate = (b) => (b.failures + b.successes ? b.failures / (b.failures + b.successes) : null);
  const max = Math.min(1, Math.max(0.05, ...series.flatMap((s) => s.buckets.map(rate).filter((v) => v !== null))));
  const x = (i) => padL + ((i - first + 0.5) * (w - padL - padR)) / count;
  const y = (v) => padT + (1 - v / max) * (h - padT - padB);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<line x1="${padL}" x2="${w - padR}" y1="${y(max * f)}" y2="${y(max * f)}" stroke="#d5d9e0"/><text ` +
        `x="${padL - 6}" y="${y(max * f) + 4}" text-anchor="end" font-size="11" ` +
        `fill="#4f5668">${Math.round(max * f * 100)} %</text>`,
    )
    .join('');
  const ticks = Math.min(count, Math.max(2, Math.floor(w / 110)));
  const xLabels = Array.from({ length: ticks }, (_, k) => {
    const i = first + Math.round((k * (count - 1)) / Math.max(1, ticks - 1));
    // Centred under its bucket, moved in just enough to stay whole inside the chart.
    const label = fmtTime(Date.parse(series[0].buckets[i].ts));
    const half = label.length * 3.4;
    const at = Math.min(Math.max(x(i), half + 2), w - half - 2);
    return (
      `<text x="${at.toFixed(1)}" y="${h - 8}" text-anchor="middle" font-size="11" ` +
      `fill="#4f5668">${esc(label)}</text>`
    );
  }).join('');
  const lines = series
    .map((s, k) => {
      const color = COLORS[k % COLORS.length];
      const segs = [];
      let seg = [];
      for (let i = first; i <= lastIdx; i++) {
        const v = rate(s.buckets[i]);
        if (v === null) {
          if (seg.length) segs.push(seg);
          seg = [];
        } else seg.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
      }
      if (seg.length) segs.push(seg);
      return segs
        .map((pts) =>
          pts.length === 1
            ? `<circle cx="${pts[0].split(',')[0]}" cy="${pts[0].split(',')[1]}" r="2.5" ` +
              `fill="${color}"/><polyline fill="none" stroke="${color}" points="${pts[0]}"/>`
            : `<polyline fill="none" stroke-width="2" stroke="${color}" points="${pts.join(' ')}"/>`,
        )
        .join('');
    })
    .join('');
  const summary = `${series.length} registries, ${fmtTime(t0)} to ${fmtTime(t1)}`;
  el.innerHTML =
    `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="failure rate ` +
    `by registry, ${esc(summary)}" data-first="${new Date(t0).toISOString()}" ` +
    `data-last="${new Date(t1).toISOString()}">${grid}${xLabels}${lines}</svg>`;
  $('trend-legend').innerHTML = series
    .map((s, k) => `<span><i data-css="background:${COLORS[k % COLORS.length]}"></i>${esc(s.name)}</span>`)
    .join('');
  applyCss($('trend-legend'));
  const rangeStart = Date.parse(series[0].buckets[0].ts);
  $('trend-note').textContent =
    first > 0
      ? `Pulls seen from ${fmtDay(t0)} to ${fmtDay(Math.min(t1, Date.now()))}; no data ` +
        `from ${fmtDay(rangeStart)} to ${fmtDay(t0)} (not drawn). Gaps in a line: no pulls from that registry.`
      : `Gaps in a line: no pulls from that registry.`;
}
new ResizeObserver(() => {
  if (lastChart) lineChart(lastChart.series, lastChart.interval);
}).observe($('trend-chart'));

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

let generation = 0;
async function refresh() {
  const gen = ++generation;
  const { from, to } = window_();
  const cluster = state.cluster || undefined;
  const registry = state.registry || undefined;
  const team = state.team || undefined;
  const range = RANGES[state.range];
  document.body.dataset.loading = 'true';
  try {
    const [registries, hotspots, incidents, stuck, failures, quota, recovery, risks, teams] = await Promise.all([
      api('/v1/registries', { from, to, cluster, team }),
      api('/v1/hotspots/rate-limit', { from, to, cluster, registry, team }),
      api('/v1/incidents', { status: 'all', from, to, team }),
      api('/v1/pods/stuck', { cluster, team }),
      api('/v1/failures', { from, to, cluster, registry, team, limit: 1000 }),
      api('/v1/quota/docker-hub'),
      api('/v1/recovery', { from, to, cluster, team, groupBy: registry ? 'registry' : 'cause' }),
      api('/v1/risks', { from, to, cluster, team }),
      api('/v1/teams', { from, to }),
    ]);
    // The routes without a registry (or cluster) parameter are filtered here, on the fields their items carry.
    const regs = registries.registries.filter((r) => !registry || r.registry === registry);
    const top = regs.slice(0, 5);
    const trends = await Promise.all(
      top.map((r) => api('/v1/trends', { interval: range.interval, from, to, cluster, team, registry: r.registry })),
    );
    if (gen !== generation) return;

    for (const r of registries.registries) known.registries.add(r.registry);
    for (const q of quota.egresses) for (const c of q.clusters) known.clusters.add(c);
    for (const i of incidents.incidents) for (const c of i.clusters) known.clusters.add(c);
    for (const p of stuck.pods) known.clusters.add(p.cluster);
    for (const f of failures.failures) known.clusters.add(f.cluster);
    for (const t of teams.teams) {
      known.teams.add(t.team);
      for (const c of t.clusters) known.clusters.add(c);
    }
    setOptions($('f-cluster'), known.clusters, 'all clusters', state.cluster);
    setOptions($('f-registry'), known.registries, 'all registries', state.registry);
    setOptions($('f-team'), known.teams, 'all teams', state.team);
    // The clusters of the team's namespaces (none for a team nobody has).
    const teamClusters = new Set(teams.teams.find((t) => t.team === team)?.clusters ?? []);

    const teamLabel = team ? `team ${team}` : '';
    const scope = [range.label, state.cluster, state.registry, teamLabel].filter(Boolean).join(' · ');
    $('h-trend').textContent = `Failure rate by registry (${range.label}, ${range.bucket})`;
    lineChart(
      top.map((r, i) => ({ name: r.registry, buckets: trends[i].series })),
      range.interval,
    );

    last.registries = regs;
    $('h-registries').textContent = `Registries (${scope})`;
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

    const incs = incidents.incidents
      .filter((i) => (!cluster || i.clusters.includes(cluster)) && (!registry || i.registry === registry))
      .sort((a, b) => (a.status === b.status ? 0 : a.status === 'open' ? -1 : 1));
    last.incidents = incs;
    $('h-incidents').textContent = `Incidents (${scope})`;
    table(
      $('incidents'),
      [
        ['registry · cause', '26%'],
        ['scope', '11%'],
        ['clusters', '22%'],
        ['images', '21%'],
        ['failed', '10%', 'num'],
        ['since', '10%'],
      ],
      incs.map((i) => [
        opener(
          `incident:${i.id}`,
          `${trunc(i.registry)}<span class="sub">${causeText(i.cause)}</span>`,
          `details of the ${i.scope} incident: ${i.registry}, ${i.cause}`,
        ),
        td(
          `<span class="tag ` +
            `scope-${esc(i.scope)}">${esc(i.scope)}</span>${
              i.status === 'open' ? '' : `<span class="sub">${esc(i.status)}</span>`
            }`,
        ),
        td(i.clusters.map((c) => `<span class="tag">${esc(c)}</span>`).join('')),
        td(
          `${i.images
            .slice(0, 2)
            .map((m) => trunc(m))
            .join('')}${i.images.length > 2 ? `<span class="sub">+${i.images.length - 2} more</span>` : ''}`,
        ),
        num(i.failures),
        td(ago(i.start)),
      ]),
      'no incidents in this view',
    );

    const pods = stuck.pods.filter((p) => !registry || p.registry === registry);
    last.stuck = pods;
    $('h-stuck').textContent =
      `Stuck Pods now (${[state.cluster, state.registry, teamLabel].filter(Boolean).join(' · ') || 'all'})`;
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

    const maxHot = Math.max(1, ...hotspots.hotspots.map((h) => h.failures));
    $('h-hotspots').textContent = `Rate-limit hotspots (${scope})`;
    table(
      $('hotspots'),
      [
        ['registry', '40%'],
        ['cluster', '35%'],
        ['429s', '25%', 'num'],
      ],
      hotspots.hotspots.map((h) => [
        `<th scope="row">${trunc(h.registry)}</th>`,
        td(trunc(h.cluster)),
        `<td class="num heat" data-css="--heat:${Math.round((h.failures / maxHot) * 100)}%">${h.failures}</td>`,
      ]),
      'no rate limiting in this view',
    );

    const byImage = new Map();
    for (const f of failures.failures) {
      const e = byImage.get(f.image) ?? { image: f.image, cause: f.cause, failures: 0, clusters: new Set() };
      e.failures += f.occurrences;
      e.clusters.add(f.cluster);
      byImage.set(f.image, e);
    }
    $('h-images').textContent = `Top failing images (${scope})`;
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
    $('images-note').textContent = failures.nextCursor ? 'From the newest 1000 failure records.' : '';

    // Docker Hub counts per egress address, whoever pulls: a team sees the egresses of its clusters, whole.
    const egresses = quota.egresses.filter(
      (q) => (!cluster || q.clusters.includes(cluster)) && (!team || q.clusters.some((c) => teamClusters.has(c))),
    );
    table(
      $('quota'),
      [
        ['egress', '32%'],
        [`used (${esc(quota.window)})`, '23%', 'num'],
        ['<abbr title="pulls in the last hour">per h</abbr>', '14%', 'num'],
        ['<abbr title="quota used up">empty</abbr>', '16%'],
        ['<abbr title="rate-limited failures">429s</abbr>', '15%', 'num'],
      ],
      registry && registry !== 'docker.io'
        ? []
        : egresses.map((q) => {
            const share = q.used / q.limit;
            const level = share >= 1 ? 'full' : share >= 0.8 ? 'near' : 'ok';
            return [
              `<th scope="row">${trunc(q.egress)}</th>`,
              num(`<span class="quota quota-${level}">${q.used} / ${q.limit}</span>`),
              num(q.ratePerHour),
              td(
                q.exhaustedAt
                  ? Date.parse(q.exhaustedAt) <= Date.now()
                    ? 'now'
                    : new Date(q.exhaustedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
                  : '',
              ),
              num(q.rateLimitedFailures || ''),
            ];
          }),
      registry && registry !== 'docker.io' ? 'Docker Hub (docker.io) only' : 'no Docker Hub pulls in the window',
    );

    const groups = recovery.groups.filter((g) => !registry || g.registry === registry);
    $('h-recovery').textContent = `Time to recover (${scope})`;
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

    const riskRows = [
      ...risks.privateWithoutPullSecrets.map((r) => ({
        kind: `no pull secret (${r.pullSecrets})`,
        image: r.image,
        registry: r.registry,
        pods: r.pods,
      })),
      ...risks.alwaysPullFromRateLimitedRegistries.map((r) => ({
        kind: 'Always pull, rate-limited registry',
        image: r.image,
        registry: r.registry,
        pods: r.pods,
      })),
      ...risks.mutableTags.map((r) => ({
        kind: `mutable tag: ${r.tag}`,
        image: r.image,
        registry: registryOf(r.image),
        pods: r.pods,
      })),
    ].filter((r) => !registry || r.registry === registry);
    $('h-risks').textContent = `Risks (${scope})`;
    table(
      $('risks'),
      [
        ['image', '44%'],
        ['risk', '40%'],
        ['Pods', '16%', 'num'],
      ],
      riskRows.map((r) => [`<th scope="row">${trunc(r.image)}</th>`, td(esc(r.kind), 'wrap'), num(r.pods)]),
      'no risks in this view',
    );

    // The live region changes only when the view or its state does, not on every refresh; the time is beside it.
    setStatus(`updated · ${scope} · refreshes every ${REFRESH_MS / 1000} s`);
    $('updated-at').textContent = `at ${new Date().toLocaleTimeString()}`;
    document.body.dataset.view = viewKey();
    document.body.dataset.loading = 'false';
    if (state.detail && !$('detail').open) void openDetail(state.detail, null);
  } catch (err) {
    if (gen !== generation) return;
    document.body.dataset.loading = 'false';
    if (err.status === 401) {
      setStatus('a valid API token is needed', true);
      $('token-form').hidden = false;
    } else {
      setStatus(err.status === 503 ? 'ClickHouse unavailable — retrying' : `error: ${err.message}`, true);
    }
  }
}

function setStatus(text, error = false) {
  if ($('status').textContent !== text) $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

/** What the page shows, for tests and links: the filters that the last render used. */
const viewKey = () => `range=${state.range}&cluster=${state.cluster}&registry=${state.registry}&team=${state.team}`;

// ---------- the detail dialog ----------

let returnFocus = null;

function summarize(failures) {
  const clusters = new Map();
  const workloads = new Map();
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
  const byFailures = (a, b) => b.failures - a.failures;
  return {
    clusters: [...clusters.values()].sort(byFailures),
    workloads: [...workloads.values()].sort(byFailures),
    causes: [...causes.values()].sort(byFailures),
  };
}

function detailSections(s, stuckPods, note) {
  const out = [];
  const mini = (cols, rows, empty) => {
    const t = document.createElement('table');
    table(t, cols, rows, empty);
    return t.outerHTML;
  };
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

async function openDetail(key, from) {
  const dialog = $('detail');
  returnFocus = from;
  state.detail = key;
  writeHash();
  const [kind, ...rest] = key.split(':');
  const id = rest.join(':');
  $('detail-title').textContent = kind === 'incident' ? 'Incident' : `Registry ${id}`;
  $('detail-body').innerHTML = '<p class="note">loading…</p>';
  if (!dialog.open) dialog.showModal();
  const cluster = state.cluster || undefined;
  const team = state.team || undefined;
  try {
    if (kind === 'registry') {
      const { from: f, to } = window_();
      const [failures, stuck, regs] = await Promise.all([
        api('/v1/failures', { from: f, to, cluster, team, registry: id, limit: 1000 }),
        api('/v1/pods/stuck', { cluster, team }),
        api('/v1/registries', { from: f, to, cluster, team }),
      ]);
      if (state.detail !== key) return;
      const r = regs.registries.find((x) => x.registry === id);
      const s = summarize(failures.failures);
      const scope = [RANGES[state.range].label, state.cluster, team ? `team ${team}` : ''].filter(Boolean).join(' · ');
      $('detail-body').innerHTML =
        `<p class="d-summary">${
          r
            ? `${r.failures} failures and ${r.successes} successful pulls (${pct(r.failureRate)} failed) ` +
              `· ${r.pods} failing Pods in ${r.clusters} cluster${r.clusters === 1 ? '' : 's'}`
            : 'no pulls'
        } · ${esc(scope)}</p>` +
        detailSections(
          s,
          stuck.pods.filter((p) => p.registry === id),
          failures.nextCursor ? 'Clusters, workloads and hints from the newest 1000 failure records.' : '',
        );
      applyCss($('detail-body'));
    } else {
      let inc = last.incidents.find((i) => i.id === id);
      if (!inc) {
        const all = await api('/v1/incidents', { status: 'all', ...window_() });
        inc = all.incidents.find((i) => i.id === id);
      }
      if (!inc) {
        $('detail-body').innerHTML = '<p class="note">This incident is not in the selected time range.</p>';
        return;
      }
      const to = new Date(Math.min(Date.now(), Date.parse(inc.end ?? inc.lastSeen) + 60_000)).toISOString();
      const [failures, stuck] = await Promise.all([
        api('/v1/failures', { from: inc.start, to, registry: inc.registry, limit: 1000 }),
        api('/v1/pods/stuck', {}),
      ]);
      if (state.detail !== key) return;
      const mine = failures.failures.filter((f) => inc.images.includes(f.image) && inc.clusters.includes(f.cluster));
      $('detail-title').textContent = `Incident: ${inc.registry} · ${inc.cause}`;
      $('detail-body').innerHTML =
        `<p class="d-summary"><span class="tag scope-${esc(inc.scope)}">${esc(inc.scope)}</span> ` +
        `${esc(inc.status)} · ${inc.failures} failures · from ${esc(new Date(inc.start).toLocaleString())} ${
          inc.end ? `to ${esc(new Date(inc.end).toLocaleString())}` : `(last seen ${ago(inc.lastSeen)})`
        }</p>` +
        `<p class="d-summary">clusters: ${inc.clusters.map((c) => `<span class="tag">${esc(c)}</span>`).join('')}</p>` +
        `<p class="d-summary">images: ${inc.images.map((m) => `<code class="img">${esc(m)}</code>`).join(' ')}</p>` +
        (inc.hint || inc.suggestion ? `<p class="d-summary hint">${hintCell(inc)}</p>` : '') +
        detailSections(
          summarize(mine),
          stuck.pods.filter((p) => inc.images.includes(p.image) && inc.clusters.includes(p.cluster)),
          failures.nextCursor ? 'Clusters, workloads and hints from the newest 1000 failure records.' : '',
        );
      applyCss($('detail-body'));
    }
  } catch (err) {
    $('detail-body').innerHTML = `<p class="note error">error: ${esc(err.message)}</p>`;
  }
}

$('detail').addEventListener('close', () => {
  state.detail = '';
  writeHash();
  const back =
    returnFocus && document.contains(returnFocus)
      ? returnFocus
      : returnFocus
        ? [...document.querySelectorAll('button.open')].find((b) => b.dataset.key === returnFocus.dataset.key)
        : null;
  back?.focus();
});
$('detail-close').addEventListener('click', () => $('detail').close());
// A click on the backdrop (the dialog element itself, outside its content) closes it too.
$('detail').addEventListener('click', (e) => {
  if (e.target === $('detail')) $('detail').close();
});

// A click anywhere on a registry or incident row opens its details; the row's button does it from the keyboard.
document.querySelector('main').addEventListener('click', (e) => {
  const row = e.target.closest('tr');
  const button = row?.querySelector('button.open');
  if (button) void openDetail(button.dataset.key, button);
});

// ---------- filters ----------

function applyControls() {
  state.range = $('f-range').value;
  state.cluster = $('f-cluster').value;
  state.registry = $('f-registry').value;
  state.team = $('f-team').value;
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

function syncControls() {
  $('f-range').value = state.range;
  setOptions($('f-cluster'), known.clusters, 'all clusters', state.cluster);
  setOptions($('f-registry'), known.registries, 'all registries', state.registry);
  setOptions($('f-team'), known.teams, 'all teams', state.team);
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  localStorage.setItem('pullwatch-token', $('token-input').value.trim());
  $('token-form').hidden = true;
  void refresh();
});

readHash();
syncControls();
void refresh();
setInterval(refresh, REFRESH_MS);
