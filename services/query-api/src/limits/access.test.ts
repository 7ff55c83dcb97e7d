import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@pullwatch/clickhouse';
import { ClickHouseAccessError, ReadOnlyMode, readOnlyClickHouse } from './access.ts';

type Call = { query: string; settings: Record<string, unknown> };

/** A ClickHouse whose user has `profile.readonly` and refuses (Code 164) settings while `profile.refuse`. */
function fakeClickHouse(profile: { readonly: number; refuse: boolean; down?: boolean }) {
  const calls: Call[] = [];
  const client = {
    async query(p: { query: string; clickhouse_settings?: Record<string, unknown> }) {
      calls.push({ query: p.query, settings: p.clickhouse_settings ?? {} });
      if (profile.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (profile.refuse && 'max_execution_time' in (p.clickhouse_settings ?? {}))
        throw Object.assign(new Error("Cannot modify 'max_execution_time' setting in readonly mode."), { code: '164' });
      const rows = p.query.includes("getSetting('readonly')") ? [{ readonly: profile.readonly }] : [{ ok: 1 }];
      return { json: async () => rows };
    },
  } as unknown as ClickHouseClient;
  return { client, calls };
}

const PROBES = [{ max_execution_time: 10 }, { max_execution_time: 25, max_threads: 1 }];

describe('ReadOnlyMode', () => {
  it.each([
    [0, '1'],
    [1, '1'],
    [2, '2'],
  ])('a profile with readonly=%i: every query sends readonly=%s, learnt once', async (own, sent) => {
    const ch = fakeClickHouse({ readonly: own, refuse: false });
    const reader = readOnlyClickHouse(ch.client, new ReadOnlyMode(ch.client, PROBES));
    await reader.query({ query: 'SELECT a', clickhouse_settings: { readonly: '1', max_execution_time: 10 } });
    await reader.query({ query: 'SELECT b' });
    expect(ch.calls.map((c) => [c.query, c.settings.readonly ?? null])).toEqual([
      ["SELECT getSetting('readonly') AS readonly", null],
      ['SELECT 1', sent],
      ['SELECT 1', sent],
      ['SELECT a', sent],
      ['SELECT b', sent],
    ]);
  });

  it('keeps a refusal for recheckMs, then sees the fixed profile', async () => {
    const profile = { readonly: 1, refuse: true };
    const ch = fakeClickHouse(profile);
    let now = 0;
    const reader = readOnlyClickHouse(ch.client, new ReadOnlyMode(ch.client, PROBES, 10_000, () => now));
    const refused = reader.query({ query: 'SELECT a' });
    await expect(refused).rejects.toBeInstanceOf(ClickHouseAccessError);
    await expect(refused).rejects.toMatchObject({ code: '164', type: 'READONLY' });
    now = 9_999;
    await expect(reader.query({ query: 'SELECT b' })).rejects.toBeInstanceOf(ClickHouseAccessError);
    expect(ch.calls).toHaveLength(2); // the first learning only: getSetting, one refused probe
    profile.readonly = 2;
    profile.refuse = false;
    now = 10_000;
    await reader.query({ query: 'SELECT c' });
    expect(ch.calls.slice(2).map((c) => [c.query, c.settings.readonly ?? null])).toEqual([
      ["SELECT getSetting('readonly') AS readonly", null],
      ['SELECT 1', '2'],
      ['SELECT 1', '2'],
      ['SELECT c', '2'],
    ]);
  });

  it('learns again when a query is refused later (the profile changed), and does not keep unavailability', async () => {
    const profile = { readonly: 2, refuse: false, down: true };
    const ch = fakeClickHouse(profile);
    const reader = readOnlyClickHouse(ch.client, new ReadOnlyMode(ch.client, PROBES));
    await expect(reader.query({ query: 'SELECT a' })).rejects.toMatchObject({ name: 'ClickHouseUnavailableError' });
    profile.down = false;
    await reader.query({ query: 'SELECT b' });
    profile.refuse = true;
    await expect(
      reader.query({ query: 'SELECT c', clickhouse_settings: { max_execution_time: 10 } }),
    ).rejects.toBeInstanceOf(ClickHouseAccessError);
    await expect(reader.query({ query: 'SELECT d' })).rejects.toBeInstanceOf(ClickHouseAccessError);
    expect(ch.calls.map((c) => c.query)).toEqual([
      "SELECT getSetting('readonly') AS readonly",
      "SELECT getSetting('readonly') AS readonly",
      'SELECT 1',
      'SELECT 1',
      'SELECT b',
      'SELECT c',
      "SELECT getSetting('readonly') AS readonly",
      'SELECT 1',
    ]);
  });
});
