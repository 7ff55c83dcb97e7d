// @ts-check
// The failure rate chart of the top five registries.
/** @import * as T from '../types.js' */
/** @import { Interval, Panel } from '../core.js' */
import { $, INTERVAL_MS, rangeOf, state } from '../core.js';
import { applyCss, esc } from '../html.js';

const COLORS = ['#c8372d', '#2456a6', '#a86400', '#2f7d45', '#7a3fb0', '#0f7a7a'];

/** @typedef {{ name: string, buckets: T.TrendBucket[] }} Series */

/** @param {number} ms */
const fmtDay = (ms) =>
  new Date(ms).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
/** @param {number} ms */
const fmtTime = (ms) => {
  const d = new Date(ms);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return state.range === '7d' ? `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${hm}` : hm;
};
/** @param {T.TrendBucket} b */
const rate = (b) => (b.failures + b.successes ? b.failures / (b.failures + b.successes) : null);

/** @type {{ series: Series[], interval: Interval } | null} */
let lastChart = null;

/**
 * The chart: only the buckets from the first to the last one with pulls; gaps without pulls break the lines.
 * @param {Series[]} series
 * @param {Interval} interval
 */
function lineChart(series, interval) {
  lastChart = { series, interval };
  const el = $('trend-chart');
  const legend = $('trend-legend');
  const note = $('trend-note');
  const bucketsAt = (/** @type {number} */ i) => series.map((s) => /** @type {T.TrendBucket} */ (s.buckets[i]));
  // Every series has the same buckets: the first one's give the times.
  const times = series[0]?.buckets ?? [];
  const tsAt = (/** @type {number} */ i) => Date.parse(times[i]?.ts ?? '');
  const n = times.length;
  const has = (/** @type {number} */ i) => bucketsAt(i).some((b) => b.failures + b.successes > 0);
  let first = -1;
  let lastIdx = -1;
  for (let i = 0; i < n; i++)
    if (has(i)) {
      if (first < 0) first = i;
      lastIdx = i;
    }
  const step = INTERVAL_MS[interval];
  if (first < 0) {
    el.innerHTML = `<p class="nodata">no data in the ${esc(rangeOf(state.range).label)}</p>`;
    legend.innerHTML = '';
    note.textContent = '';
    return;
  }
  const t0 = tsAt(first);
  const t1 = tsAt(lastIdx) + step;
  const w = Math.max(280, Math.floor(el.clientWidth || 800));
  const h = 220;
  const padL = 44;
  const padR = 14;
  const padT = 10;
  const padB = 26;
  const count = lastIdx - first + 1;
  const rates = series.flatMap((s) => s.buckets.map(rate).filter((v) => v !== null));
  const max = Math.min(1, Math.max(0.05, ...rates));
  const x = (/** @type {number} */ i) => padL + ((i - first + 0.5) * (w - padL - padR)) / count;
  const y = (/** @type {number} */ v) => padT + (1 - v / max) * (h - padT - padB);
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
    const label = fmtTime(tsAt(i));
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
      /** @type {{ x: string, y: string }[][]} */
      const segs = [];
      /** @type {{ x: string, y: string }[]} */
      let seg = [];
      for (let i = first; i <= lastIdx; i++) {
        const b = s.buckets[i];
        const v = b ? rate(b) : null;
        if (v === null) {
          if (seg.length) segs.push(seg);
          seg = [];
        } else seg.push({ x: x(i).toFixed(1), y: y(v).toFixed(1) });
      }
      if (seg.length) segs.push(seg);
      return segs
        .map((pts) => {
          const points = pts.map((p) => `${p.x},${p.y}`).join(' ');
          const [one] = pts;
          return pts.length === 1 && one
            ? `<circle cx="${one.x}" cy="${one.y}" r="2.5" ` +
                `fill="${color}"/><polyline fill="none" stroke="${color}" points="${points}"/>`
            : `<polyline fill="none" stroke-width="2" stroke="${color}" points="${points}"/>`;
        })
        .join('');
    })
    .join('');
  const summary = `${series.length} registries, ${fmtTime(t0)} to ${fmtTime(t1)}`;
  el.innerHTML =
    `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="failure rate ` +
    `by registry, ${esc(summary)}" data-first="${new Date(t0).toISOString()}" ` +
    `data-last="${new Date(t1).toISOString()}">${grid}${xLabels}${lines}</svg>`;
  legend.innerHTML = series
    .map((s, k) => `<span><i data-css="background:${COLORS[k % COLORS.length]}"></i>${esc(s.name)}</span>`)
    .join('');
  applyCss(legend);
  const rangeStart = tsAt(0);
  note.textContent =
    first > 0
      ? `Pulls seen from ${fmtDay(t0)} to ${fmtDay(Math.min(t1, Date.now()))}; no data ` +
        `from ${fmtDay(rangeStart)} to ${fmtDay(t0)} (not drawn). Gaps in a line: no pulls from that registry.`
      : `Gaps in a line: no pulls from that registry.`;
}

new ResizeObserver(() => {
  if (lastChart) lineChart(lastChart.series, lastChart.interval);
}).observe($('trend-chart'));

/** @type {Panel} */
export async function trends(view) {
  const { registries } = await view.registries();
  // The routes without a registry parameter are filtered here, on the fields their items carry.
  const top = registries.filter((r) => !view.registry || r.registry === view.registry).slice(0, 5);
  const answers = await Promise.all(top.map((r) => view.trends(r.registry)));
  return () => {
    $('h-trend').textContent = `Failure rate by registry (${view.range.label}, ${view.range.bucket})`;
    lineChart(
      top.map((r, i) => ({ name: r.registry, buckets: answers[i]?.series ?? [] })),
      view.range.interval,
    );
  };
}
