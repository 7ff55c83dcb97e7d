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

describe('loadCollectorConfig: the buffer of events waiting for Kafka', () => {
  it('holds at most 50 000 events and 32 MiB, and lets a request wait a second for room, by default', () => {
    expect(loadCollectorConfig(base).buffer).toEqual({ maxEvents: 50_000, maxBytes: 33_554_432, waitMs: 1000 });
  });

  it('takes other bounds, and no wait at all', () => {
    expect(
      loadCollectorConfig({
        ...base,
        PULLWATCH_BUFFER_MAX_EVENTS: '1000',
        PULLWATCH_BUFFER_MAX_BYTES: '1048576',
        PULLWATCH_BUFFER_WAIT_MS: '0',
      }).buffer,
    ).toEqual({ maxEvents: 1000, maxBytes: 1_048_576, waitMs: 0 });
  });

  it('refuses a byte bound under 64 KiB and a wait over 30 s, naming the setting', () => {
    expect(() => loadCollectorConfig({ ...base, PULLWATCH_BUFFER_MAX_BYTES: '1000' })).toThrow(
      /^invalid collector settings: PULLWATCH_BUFFER_MAX_BYTES: /,
    );
    expect(() => loadCollectorConfig({ ...base, PULLWATCH_BUFFER_WAIT_MS: '60000' })).toThrow(
      /^invalid collector settings: PULLWATCH_BUFFER_WAIT_MS: /,
    );
  });
});
