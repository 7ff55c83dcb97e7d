import { describe, expect, it } from 'vitest';
import {
  labelWindow,
  NO_TEAMS,
  pairsOf,
  type SeenNamespace,
  teamLookup,
  teamOf,
  teamSummaries,
  teamsFrom,
} from './teams.ts';

const teams = teamsFrom({ namespaces: { shop: 'web', db: 'data' }, clusters: { eu: { shop: 'eu-web' } } });
const seen: SeenNamespace[] = [
  { cluster: 'us', namespace: 'shop', label: 'labelled-shop' }, // the file wins: web
  { cluster: 'eu', namespace: 'shop', label: '' }, // the cluster's entry: eu-web
  { cluster: 'eu', namespace: 'db', label: '' }, // fleet-wide: data
  { cluster: 'us', namespace: 'payments', label: 'pay' }, // not in the file: its label
  { cluster: 'eu', namespace: 'payments', label: 'pay' },
  { cluster: 'us', namespace: 'tmp', label: '' }, // neither: no team
];

describe('a namespace’s team', () => {
  it('is the mapping file’s (a cluster entry first), else the stored label, else null', () => {
    expect(seen.map((n) => teamOf(teams, n))).toEqual(['web', 'eu-web', 'data', 'pay', 'pay', null]);
    expect(seen.map((n) => teamOf(NO_TEAMS, n))).toEqual(['labelled-shop', null, null, 'pay', 'pay', null]);
  });

  it('looks up any namespace: one not seen has only the file to go by', () => {
    const of = teamLookup(seen, teams);
    expect([of('us', 'shop'), of('us', 'payments'), of('us', 'tmp'), of('us', 'db'), of('us', 'unseen')]).toEqual([
      'web',
      'pay',
      null,
      'data',
      null,
    ]);
  });

  it('gives each team its (cluster, namespace) pairs, sorted; an unknown team has none', () => {
    expect(pairsOf('pay', seen, teams)).toEqual([
      ['eu', 'payments'],
      ['us', 'payments'],
    ]);
    expect(pairsOf('web', seen, teams)).toEqual([['us', 'shop']]);
    expect(pairsOf('labelled-shop', seen, teams)).toEqual([]);
    expect(pairsOf('labelled-shop', seen, NO_TEAMS)).toEqual([['us', 'shop']]);
    expect(pairsOf('nobody', seen, teams)).toEqual([]);
    expect(pairsOf('', seen, NO_TEAMS)).toEqual([]);
  });

  it('lists the teams by name with their clusters and namespace counts, optionally in one cluster', () => {
    expect(teamSummaries(seen, teams)).toEqual([
      { team: 'data', clusters: ['eu'], namespaces: 1 },
      { team: 'eu-web', clusters: ['eu'], namespaces: 1 },
      { team: 'pay', clusters: ['eu', 'us'], namespaces: 2 },
      { team: 'web', clusters: ['us'], namespaces: 1 },
    ]);
    expect(teamSummaries(seen, teams, 'us')).toEqual([
      { team: 'pay', clusters: ['us'], namespaces: 1 },
      { team: 'web', clusters: ['us'], namespaces: 1 },
    ]);
    expect(teamSummaries([], teams)).toEqual([]);
  });
});

describe('labelWindow', () => {
  it('widens [from, to) to whole minutes and one more after to', () => {
    expect(labelWindow({ from: new Date('2026-11-24T10:00:30.500Z'), to: new Date('2026-11-24T11:59:10Z') })).toEqual({
      from: new Date('2026-11-24T10:00:00Z'),
      to: new Date('2026-11-24T12:01:00Z'),
    });
    expect(labelWindow({ from: new Date('2026-11-24T10:00:00Z'), to: new Date('2026-11-24T11:00:00Z') })).toEqual({
      from: new Date('2026-11-24T10:00:00Z'),
      to: new Date('2026-11-24T11:01:00Z'),
    });
  });
});
