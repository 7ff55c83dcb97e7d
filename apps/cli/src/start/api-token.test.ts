import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadQueryApiConfig } from '@pullwatch/query-api';
import { clientIngestToken, ensureApiToken, ensureIngestToken, ingestTokenFile } from './api-token.ts';

describe('ensureApiToken', () => {
  it('creates a token once with mode 0600 and keeps it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-token-')), 'nested', 'api-token');
    const first = ensureApiToken(file);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^pw_[A-Za-z0-9_-]{32}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = ensureApiToken(file);
    expect(second).toEqual({ token: first.token, created: false });
  });

  it('replaces an empty token file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-token-')), 'api-token');
    writeFileSync(file, '\n', { mode: 0o644 });
    const t = ensureApiToken(file);
    expect(t.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('the API token file and the query API', () => {
  it('is a token file the query API reads; with several tokens (one a line) npm start prints the first', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-token-')), 'api-token');
    const { token } = ensureApiToken(file);
    expect(loadQueryApiConfig({ PULLWATCH_API_TOKENS_FILE: file }).tokens).toEqual([token]);
    // An operator adds tokens, one a line (a blank line and spaces are ignored).
    writeFileSync(file, `${token}\n\n  pw_second-token-for-grafana  \npw_third-token-for-ci\n`, { mode: 0o600 });
    expect(loadQueryApiConfig({ PULLWATCH_API_TOKENS_FILE: file }).tokens).toEqual([
      token,
      'pw_second-token-for-grafana',
      'pw_third-token-for-ci',
    ]);
    expect(loadQueryApiConfig({ PULLWATCH_API_TOKENS: 'a,b', PULLWATCH_API_TOKENS_FILE: file }).tokens).toEqual([
      'a',
      'b',
      token,
      'pw_second-token-for-grafana',
      'pw_third-token-for-ci',
    ]);
    // npm start keeps them all and prints the first, a token the query API accepts.
    expect(ensureApiToken(file)).toEqual({ token, created: false });
    expect(readFileSync(file, 'utf8')).toContain('pw_third-token-for-ci');
  });
});

describe('the ingest token', () => {
  it('is created once in its file with mode 0600, and is what replay and simulate send by default', () => {
    const home = mkdtempSync(join(tmpdir(), 'pw-home-'));
    const file = join(home, 'ingest-token');
    expect(ingestTokenFile({ PULLWATCH_HOME: home })).toBe(file);
    expect(clientIngestToken(undefined, { PULLWATCH_HOME: home })).toBeUndefined();
    const first = ensureIngestToken(file);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^pwi_[A-Za-z0-9_-]{32}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(ensureIngestToken(file)).toEqual({ token: first.token, created: false });
    // --token, then PULLWATCH_INGEST_TOKEN, then the file.
    expect(clientIngestToken(undefined, { PULLWATCH_HOME: home })).toBe(first.token);
    expect(clientIngestToken(undefined, { PULLWATCH_HOME: home, PULLWATCH_INGEST_TOKEN: 'from-env' })).toBe('from-env');
    expect(clientIngestToken('from-flag', { PULLWATCH_HOME: home, PULLWATCH_INGEST_TOKEN: 'from-env' })).toBe(
      'from-flag',
    );
  });
});
