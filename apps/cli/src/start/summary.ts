export interface SummarySample {
  atMs: number;
  eventsForwarded: number;
  failuresByCause: Record<string, number>;
  openIncidents: number;
  stuckPods: number;
}

/** One compact status line from two consecutive samples (events/s is the rate between them). */
export function summaryLine(prev: SummarySample | null, cur: SummarySample): string {
  const seconds = prev ? Math.max(0.001, (cur.atMs - prev.atMs) / 1000) : 0;
  const rate = prev ? Math.max(0, cur.eventsForwarded - prev.eventsForwarded) / seconds : 0;
  const causes = Object.entries(cur.failuresByCause)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  const time = new Date(cur.atMs).toISOString().slice(11, 19);
  return (
    `${time}  events/s ${rate.toFixed(0).padStart(5)}  |  failures (15 min): ${causes || 'none'}  |  open ` +
    `incidents ${cur.openIncidents}  |  stuck pods ${cur.stuckPods}`
  );
}

const forwardedSeries = /^pullwatch_collector_(?:events|watch_objects)_total\{[^}]*outcome="forwarded"[^}]*\} (\S+)$/;

/** Events the collector has forwarded to Kafka, ingest and watch together, from its Prometheus text. */
export function forwardedEvents(metricsText: string): number {
  let n = 0;
  for (const line of metricsText.split('\n')) {
    const m = forwardedSeries.exec(line);
    if (m) n += Number(m[1]);
  }
  return n;
}
