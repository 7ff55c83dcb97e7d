import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadQueryApiConfig } from './config.ts';

describe('loadQueryApiConfig: the read-only ClickHouse user', () => {
  const base = { PULLWATCH_API_TOKENS: 'api-token-1' };

  it('is the user the API queries as when set, and absent otherwise', () => {
    expect(
      loadQueryApiConfig({
        ...base,
        PULLWATCH_CLICKHOUSE_RO_USER: 'pullwatch_ro',
        PULLWATCH_CLICKHOUSE_RO_PASSWORD: 'r0',
      }).readOnlyUser,
    ).toEqual({ user: 'pullwatch_ro', password: 'r0' });
    expect(loadQueryApiConfig({ ...base, PULLWATCH_CLICKHOUSE_RO_USER: 'pullwatch_ro' }).readOnlyUser).toEqual({
      user: 'pullwatch_ro',
      password: '',
    });
    expect(loadQueryApiConfig(base).readOnlyUser).toBeNull();
  });

  it('refuses a password without a user, naming both variables', () => {
    expect(() => loadQueryApiConfig({ ...base, PULLWATCH_CLICKHOUSE_RO_PASSWORD: 'r0' })).toThrow(
      'invalid query API settings: PULLWATCH_CLICKHOUSE_RO_PASSWORD is set without PULLWATCH_CLICKHOUSE_RO_USER',
    );
  });
});

describe('loadQueryApiConfig: the API tokens file', () => {
  const fileWith = (text: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'api-tokens-')), 'tokens');
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };

  it('skips comments and blank lines, and trims each token', () => {
    const file = fileWith(
      '# the dashboard\npw_dashboard-0123456789\n\n   \n  # grafana, rotated 2026-11\r\n  pw_grafana-0123456789ab  \r\n',
    );
    expect(loadQueryApiConfig({ PULLWATCH_API_TOKENS_FILE: file }).tokens).toEqual([
      'pw_dashboard-0123456789',
      'pw_grafana-0123456789ab',
    ]);
  });

  it('refuses a token shorter than 16 characters, by line, without printing it', () => {
    const file = fileWith('# tokens\npw_dashboard-0123456789\nshort-secret\n');
    expect(() => loadQueryApiConfig({ PULLWATCH_API_TOKENS_FILE: file })).toThrow(
      `PULLWATCH_API_TOKENS_FILE ${file}: line 3: a token must have at least 16 characters (it has 12)`,
    );
    // Exactly 16 is enough.
    expect(loadQueryApiConfig({ PULLWATCH_API_TOKENS_FILE: fileWith('0123456789abcdef\n') }).tokens).toEqual([
      '0123456789abcdef',
    ]);
  });

  it('still needs a token: a file of comments only has none', () => {
    expect(() => loadQueryApiConfig({ PULLWATCH_API_TOKENS_FILE: fileWith('# none yet\n\n') })).toThrow(
      'the query API needs at least one token',
    );
  });
});

describe('loadQueryApiConfig: PULLWATCH_REPORT_MAX_GROUPS', () => {
  const base = { PULLWATCH_API_TOKENS: 'api-token-1' };
  it('is 50000 by default, and a positive integer when set', () => {
    expect(loadQueryApiConfig(base).reportMaxGroups).toBe(50_000);
    expect(loadQueryApiConfig({ ...base, PULLWATCH_REPORT_MAX_GROUPS: '7' }).reportMaxGroups).toBe(7);
    for (const bad of ['0', '-1', '1.5', 'x'])
      expect(() => loadQueryApiConfig({ ...base, PULLWATCH_REPORT_MAX_GROUPS: bad }), bad).toThrow(
        /PULLWATCH_REPORT_MAX_GROUPS/,
      );
  });
});
