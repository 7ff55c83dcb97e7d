import { ClickHouseError } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { ClickHouseQueryError, ClickHouseTlsError, ClickHouseUnavailableError, toClickHouseError } from './errors.ts';

describe('toClickHouseError', () => {
  it('keeps server errors as query errors with their code, unless their type is transient', () => {
    const refused = toClickHouseError(new ClickHouseError({ message: 'no', code: '60', type: 'UNKNOWN_TABLE' }));
    expect(refused).toBeInstanceOf(ClickHouseQueryError);
    expect(refused).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    const busy = toClickHouseError(
      new ClickHouseError({ message: 'busy', code: '202', type: 'TOO_MANY_SIMULTANEOUS_QUERIES' }),
    );
    expect(busy).toBeInstanceOf(ClickHouseUnavailableError);
    // A shard shutting down after a fatal error (seen in the cluster tier) is unavailable, not a bad query.
    const shuttingDown = toClickHouseError(
      new ClickHouseError({
        message: 'The server is shutting down due to a fatal error. ',
        code: '236',
        type: 'ABORTED',
      }),
    );
    expect(shuttingDown).toBeInstanceOf(ClickHouseUnavailableError);
    expect(toClickHouseError(new ClickHouseError({ message: 'x', code: '236', type: '' }))).toBeInstanceOf(
      ClickHouseUnavailableError,
    );
  });

  it('decides socket failures by their code, also when wrapped, and never by the text', () => {
    const refused = Object.assign(new Error('connect failed'), { code: 'ECONNREFUSED' });
    expect(toClickHouseError(refused)).toBeInstanceOf(ClickHouseUnavailableError);
    expect(toClickHouseError(new Error('fetch failed', { cause: refused }))).toBeInstanceOf(ClickHouseUnavailableError);
    expect(toClickHouseError(new Error('ECONNREFUSED socket hang up timed out'))).toBeInstanceOf(ClickHouseQueryError);
  });

  it('calls a deadline that ran out unavailable, and passes typed errors through', () => {
    expect(toClickHouseError(new Error('This operation was aborted'), true)).toBeInstanceOf(ClickHouseUnavailableError);
    const typed = new ClickHouseUnavailableError('x');
    expect(toClickHouseError(typed)).toBe(typed);
  });

  it('names PULLWATCH_CLICKHOUSE_CA_FILE for a server certificate no trusted CA signed, and never retries it', () => {
    const untrusted = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const e = toClickHouseError(new Error('fetch failed', { cause: untrusted }));
    expect(e).toBeInstanceOf(ClickHouseTlsError);
    expect([(e as ClickHouseTlsError).setting, (e as ClickHouseTlsError).code]).toEqual([
      'PULLWATCH_CLICKHOUSE_CA_FILE',
      'SELF_SIGNED_CERT_IN_CHAIN',
    ]);
    expect(e.message).toBe(
      "ClickHouse HTTPS: the server's certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN: fetch failed); " +
        'check PULLWATCH_CLICKHOUSE_CA_FILE (the CA that signed it)',
    );
    const host = toClickHouseError(Object.assign(new Error('altname'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }));
    expect((host as ClickHouseTlsError).setting).toBe('PULLWATCH_CLICKHOUSE_URL');
  });
});
