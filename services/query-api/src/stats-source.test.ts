import { describe, expect, it } from 'vitest';
import { FleetTables } from '@pullwatch/clickhouse';
import { statsSource } from './stats-source.ts';

const t = new FleetTables('pw');
const w = { from: new Date('2026-11-01T10:20:30.500Z'), to: new Date('2026-11-02T09:45:10.250Z') };

describe('statsSource', () => {
  it('reads whole hours from pull_stats_1h and the minutes around them from pull_stats_1m', () => {
    const s = statsSource(t, 0, w, 'cluster = {cluster:String}');
    expect(s.params).toEqual({
      statsFrom: '2026-11-01 10:20:30',
      statsTo: '2026-11-02 09:45:10',
      statsHourFrom: '2026-11-01 11:00:00',
      statsHourTo: '2026-11-02 09:00:00',
    });
    expect(s.sql).toContain(
      'FROM pw.pull_stats_1h WHERE hour >= {statsHourFrom:DateTime} AND hour < {statsHourTo:DateTime} AND ' +
        'cluster = {cluster:String}',
    );
    expect(s.sql).toContain(
      'FROM pw.pull_stats_1m WHERE ((minute >= {statsFrom:DateTime} AND minute < {statsHourFrom:DateTime}) OR ' +
        '(minute >= {statsHourTo:DateTime} AND minute < {statsTo:DateTime})) AND cluster = {cluster:String}',
    );
  });

  it('takes hours only from when the hourly table holds them all', () => {
    const s = statsSource(t, Date.parse('2026-11-01T20:30:00Z'), w);
    expect(s.params.statsHourFrom).toBe('2026-11-01 21:00:00');
    expect(s.params.statsHourTo).toBe('2026-11-02 09:00:00');
  });

  it('reads minutes only before migration 0011, after its window, or within one hour', () => {
    const minutes = {
      sql:
        'SELECT registry, provider, cluster, namespace, cause, failures, successes, pods FROM pw.pull_stats_1m ' +
        'WHERE minute >= {statsFrom:DateTime} AND minute < {statsTo:DateTime}',
      params: { statsFrom: '2026-11-01 10:20:30', statsTo: '2026-11-02 09:45:10' },
    };
    expect(statsSource(t, null, w)).toEqual(minutes);
    expect(statsSource(t, Date.parse('2026-11-03T00:00:00Z'), w)).toEqual(minutes);
    const short = { from: new Date('2026-11-01T10:05:00Z'), to: new Date('2026-11-01T10:55:00Z') };
    expect(statsSource(t, 0, short).sql).not.toContain('pull_stats_1h');
  });

  it('reads the Distributed tables on a cluster', () => {
    expect(statsSource(new FleetTables('pw', 'fleet'), 0, w).sql).toContain('pw.pull_stats_1h_all');
  });
});
