// pullwatch dashboard: reads only the public /v1 API with the bearer token from the URL fragment
// (`#token=…`, what `npm start` prints) or the form, kept in localStorage.
const REFRESH_MS = 10_000;
const COLORS = ['#c8372d', '#2456a6', '#d98a00', '#2f8f4e', '#7a3fb0', '#0f8a8a'];
const $ = (id) => document.getElementById(id);

function token() {
  const m = /token=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem('pullwatch-token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  return localStorage.getItem('pullwatch-token');
}

async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token()}` } });
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
  return m < 60 ? `${m} min ago` : `${(m / 60).toFixed(1)} h ago`;
};

function table(el, head, rows, empty) {
  el.innerHTML = rows.length
    ? `<thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</tbody>`
    : `<tbody><tr><td class="empty">${empty}</td></tr></tbody>`;
}

function lineChart(el, series) {
  const w = 1000,
    h = 220,
    pad = 30;
  const n = series[0]?.points.length ?? 0;
  const max = Math.max(0.05, ...series.flatMap((s) => s.points));
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, n - 1);
  const y = (v) => h - pad + 10 - (v / max) * (h - 2 * pad);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<line x1="${pad}" x2="${w - pad}" y1="${y(max * f)}" y2="${y(max * f)}" stroke="#e3e6eb"/><text x="2" y="${y(max * f) + 4}" font-size="10" fill="#6b7385">${Math.round(max * f * 100)}%</text>`,
    )
    .join('');
  const lines = series
    .map(
      (s, k) =>
        `<polyline fill="none" stroke-width="2" stroke="${COLORS[k % COLORS.length]}" points="${s.points.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
    )
    .join('');
  el.innerHTML = `<svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="failure rate by registry">${grid}${lines}</svg>`;
  $('trend-legend').innerHTML = series
    .map((s, k) => `<span><i style="background:${COLORS[k % COLORS.length]}"></i>${esc(s.name)}</span>`)
    .join('');
}

const secs = (s) => (s === null ? '' : s < 120 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`);

/** Docker Hub quota per egress address, and time to recover per cause. */
async function diagnosisPanels() {
  const [quota, recovery] = await Promise.all([api('/v1/quota/docker-hub'), api('/v1/recovery?groupBy=cause')]);
  table(
    $('quota'),
    ['egress', `used of limit (${esc(quota.window)})`, 'per hour', 'exhausted', '429s'],
    quota.egresses.map((q) => {
      const share = q.used / q.limit;
      const level = share >= 1 ? 'full' : share >= 0.8 ? 'near' : 'ok';
      return [
        `<td>${esc(q.egress)}</td>`,
        `<td class="num"><span class="quota quota-${level}">${q.used} / ${q.limit}</span></td>`,
        `<td class="num">${q.ratePerHour}</td>`,
        `<td>${q.exhaustedAt ? (Date.parse(q.exhaustedAt) <= Date.now() ? 'now' : `at ${new Date(q.exhaustedAt).toLocaleTimeString()}`) : ''}</td>`,
        `<td class="num">${q.rateLimitedFailures || ''}</td>`,
      ];
    }),
    'no Docker Hub pulls in the window',
  );
  table(
    $('recovery'),
    ['cause', 'recovered', 'p50', 'p90', 'max', 'still stuck'],
    recovery.groups.map((g) => [
      `<td>${esc(g.cause)}</td>`,
      `<td class="num">${g.count}</td>`,
      `<td class="num">${secs(g.p50)}</td>`,
      `<td class="num">${secs(g.p90)}</td>`,
      `<td class="num">${secs(g.max)}</td>`,
      `<td class="num">${g.stillStuck || ''}</td>`,
    ]),
    'no failures in the last 24 h',
  );
}

async function refresh() {
  try {
    const [registries, hotspots, incidents, stuck, failures] = await Promise.all([
      api('/v1/registries'),
      api('/v1/hotspots/rate-limit'),
      api('/v1/incidents?status=open'),
      api('/v1/pods/stuck'),
      api('/v1/failures?limit=1000'),
    ]);
    const top = registries.registries.slice(0, 5);
    const trends = await Promise.all(
      top.map((r) => api(`/v1/trends?interval=1h&registry=${encodeURIComponent(r.registry)}`)),
    );
    lineChart(
      $('trend-chart'),
      top.map((r, i) => ({
        name: r.registry,
        points: trends[i].series.map((b) => (b.failures + b.successes ? b.failures / (b.failures + b.successes) : 0)),
      })),
    );

    table(
      $('registries'),
      ['registry', 'failures', 'successes', 'rate', 'top cause'],
      registries.registries.map((r) => {
        const cause = Object.entries(r.byCause).sort((a, b) => b[1] - a[1])[0];
        return [
          `<td>${esc(r.registry)}</td>`,
          `<td class="num">${r.failures}</td>`,
          `<td class="num">${r.successes}</td>`,
          `<td class="num">${pct(r.failureRate)}</td>`,
          `<td>${cause ? `${esc(cause[0])} (${cause[1]})` : ''}</td>`,
        ];
      }),
      'no pulls in the last 24 h',
    );

    const clusters = [...new Set(hotspots.hotspots.map((h) => h.cluster))].sort();
    const regs = [...new Set(hotspots.hotspots.map((h) => h.registry))];
    const maxHot = Math.max(1, ...hotspots.hotspots.map((h) => h.failures));
    table(
      $('hotspots'),
      ['registry', ...clusters.map(esc)],
      regs.map((reg) => [
        `<td>${esc(reg)}</td>`,
        ...clusters.map((c) => {
          const f = hotspots.hotspots.find((h) => h.registry === reg && h.cluster === c)?.failures ?? 0;
          return `<td class="heat" style="background: rgba(200,55,45,${(f / maxHot) * 0.8})">${f || ''}</td>`;
        }),
      ]),
      'no rate limiting seen',
    );

    table(
      $('incidents'),
      ['scope', 'registry · cause', 'clusters', 'images', 'failures', 'since'],
      incidents.incidents.map((i) => [
        `<td><span class="tag scope-${esc(i.scope)}">${esc(i.scope)}</span></td>`,
        `<td>${esc(i.registry)}<br><span class="hint">${esc(i.cause)}</span></td>`,
        `<td>${i.clusters.map((c) => `<span class="tag">${esc(c)}</span>`).join('')}</td>`,
        `<td>${i.images
          .slice(0, 3)
          .map((m) => `<span class="tag">${esc(m)}</span>`)
          .join('')}${i.images.length > 3 ? ` +${i.images.length - 3}` : ''}</td>`,
        `<td class="num">${i.failures}</td>`,
        `<td>${ago(i.start)}</td>`,
      ]),
      'no open incidents',
    );

    table(
      $('stuck'),
      ['pod', 'cause', 'since', 'attempts', 'hint'],
      stuck.pods.map((p) => [
        `<td>${esc(p.cluster)}/${esc(p.namespace)}/${esc(p.pod)}<br><span class="hint">${esc(p.image)}</span></td>`,
        `<td>${esc(p.cause)}</td>`,
        `<td>${ago(p.since)}</td>`,
        `<td class="num">${p.attempts}</td>`,
        `<td class="hint">${esc(p.hint)}</td>`,
      ]),
      'no stuck Pods',
    );

    const byImage = new Map();
    for (const f of failures.failures) {
      const e = byImage.get(f.image) ?? { image: f.image, cause: f.cause, failures: 0, clusters: new Set() };
      e.failures += f.occurrences;
      e.clusters.add(f.cluster);
      byImage.set(f.image, e);
    }
    table(
      $('images'),
      ['image', 'cause', 'failures', 'clusters'],
      [...byImage.values()]
        .sort((a, b) => b.failures - a.failures)
        .slice(0, 10)
        .map((e) => [
          `<td>${esc(e.image)}</td>`,
          `<td>${esc(e.cause)}</td>`,
          `<td class="num">${e.failures}</td>`,
          `<td class="num">${e.clusters.size}</td>`,
        ]),
      'no failures',
    );

    await diagnosisPanels();

    $('status').className = 'status';
    $('status').textContent = `updated ${new Date().toLocaleTimeString()} · refreshes every ${REFRESH_MS / 1000} s`;
  } catch (err) {
    $('status').className = 'status error';
    if (err.status === 401) {
      $('status').textContent = 'a valid API token is needed';
      $('token-form').hidden = false;
    } else {
      $('status').textContent = err.status === 503 ? 'ClickHouse unavailable — retrying' : `error: ${err.message}`;
    }
  }
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  localStorage.setItem('pullwatch-token', $('token-input').value.trim());
  $('token-form').hidden = true;
  void refresh();
});

token();
void refresh();
setInterval(refresh, REFRESH_MS);
