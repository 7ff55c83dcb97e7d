import { describe, expect, it } from 'vitest';
import { loadMigrations } from './migrations.ts';

describe('migrations for a sharded cluster without Keeper (replicated: false)', () => {
  const all = loadMigrations({ database: 'pw', ttlDays: 30, cluster: 'fleet', replicated: false });
  const sql = all.flatMap((m) => m.statements).join('\n');

  it('renders plain engines without ON CLUSTER, and still creates the _all Distributed tables', () => {
    expect(sql).not.toContain('ON CLUSTER');
    expect(sql).not.toContain('Replicated');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS pw.pull_events \n(');
    expect(all.find((m) => m.name === 'distributed')!.statements).toEqual(
      loadMigrations({ database: 'pw', ttlDays: 30, cluster: 'fleet' })
        .find((m) => m.name === 'distributed')!
        .statements.map((s) => s.replace('ON CLUSTER fleet', '')),
    );
    expect(sql).toContain(
      'CREATE TABLE IF NOT EXISTS pw.pull_events_all  AS pw.pull_events\n' +
        'ENGINE = Distributed(fleet, pw, pull_events, cityHash64(cluster, namespace, pod))',
    );
  });
});
