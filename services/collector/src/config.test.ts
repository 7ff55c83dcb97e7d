import { describe, expect, it } from 'vitest';
import { loadCollectorConfig } from './config.ts';

// An ingest needs its token; these tests are about the team label alone.
const base = { PULLWATCH_INGEST_TOKEN: 'config-test-token-0123456789' };

describe('loadCollectorConfig: the team label', () => {
  it('is off unless set: no Namespace watch, teams unknown', () => {
    expect(loadCollectorConfig(base).teamLabel).toBeNull();
  });

  it('takes a Kubernetes label key, with or without a prefix', () => {
    expect(loadCollectorConfig({ ...base, PULLWATCH_TEAM_LABEL: 'team' }).teamLabel).toBe('team');
    expect(loadCollectorConfig({ ...base, PULLWATCH_TEAM_LABEL: 'example.com/owner-team' }).teamLabel).toBe(
      'example.com/owner-team',
    );
  });

  it('refuses what cannot be a label key, naming the setting', () => {
    for (const bad of ['', 'team name', '-team', 'a/b/c'])
      expect(() => loadCollectorConfig({ ...base, PULLWATCH_TEAM_LABEL: bad })).toThrow(
        /^invalid collector settings: PULLWATCH_TEAM_LABEL: a Kubernetes label key$/,
      );
  });
});
