import { describe, expect, it } from 'vitest';
import { forwardedEvents, summaryLine } from './summary.ts';

describe('summaryLine', () => {
  it('shows the event rate between samples, the top causes and incidents', () => {
    const prev = {
      atMs: Date.parse('2026-11-24T10:00:00Z'),
      eventsForwarded: 100,
      failuresByCause: {},
      openIncidents: 0,
      stuckPods: 0,
    };
    const cur = {
      atMs: Date.parse('2026-11-24T10:00:05Z'),
      eventsForwarded: 350,
      failuresByCause: { not_found: 3, rate_limited: 40, unknown: 0 },
      openIncidents: 2,
      stuckPods: 4,
    };
    expect(summaryLine(prev, cur)).toBe(
      '10:00:05  events/s    50  |  failures (15 min): rate_limited 40, not_found 3  |  open incidents 2  |  ' +
        'stuck pods 4',
    );
  });

  it('has no rate before a second sample', () => {
    const cur = {
      atMs: Date.parse('2026-11-24T10:00:05Z'),
      eventsForwarded: 10,
      failuresByCause: {},
      openIncidents: 0,
      stuckPods: 0,
    };
    expect(summaryLine(null, cur)).toContain('events/s     0  |  failures (15 min): none');
  });
});

describe('forwardedEvents', () => {
  it('adds the forwarded series of ingest and watch, and nothing else', () => {
    const text = [
      '# HELP pullwatch_collector_events_total Events by outcome',
      '# TYPE pullwatch_collector_events_total counter',
      'pullwatch_collector_events_total{source="k8s-events",cluster="a",outcome="forwarded"} 120',
      'pullwatch_collector_events_total{source="otlp",cluster="b",outcome="forwarded"} 30',
      'pullwatch_collector_events_total{source="k8s-events",cluster="a",outcome="filtered"} 999',
      'pullwatch_collector_watch_objects_total{cluster="c",outcome="forwarded"} 7',
      'pullwatch_collector_watch_objects_total{cluster="c",outcome="skipped"} 5',
      'pullwatch_collector_requests_total{outcome="forwarded"} 1000',
    ].join('\n');
    expect(forwardedEvents(text)).toBe(157);
    expect(forwardedEvents('')).toBe(0);
  });
});
