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
