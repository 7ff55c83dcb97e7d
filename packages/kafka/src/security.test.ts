import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaSecurityConfig, KafkaSettingError } from './security.ts';

const dir = mkdtempSync(join(tmpdir(), 'pw-kafka-security-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const ca = file('ca.pem', 'CA');
const cert = file('client.pem', 'CERT');
const key = file('client.key', 'KEY');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The setting a refused environment is refused for, and the message. */
function refused(env: NodeJS.ProcessEnv): [string, string] {
  try {
    kafkaSecurityConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(KafkaSettingError);
    return [(err as KafkaSettingError).setting, (err as Error).message];
  }
  throw new Error('accepted');
}

describe('kafkaSecurityConfig', () => {
  it('is plaintext without authentication when nothing is set', () => {
    expect(kafkaSecurityConfig({})).toEqual({});
    expect(kafkaSecurityConfig({ PULLWATCH_KAFKA_SSL: 'false' })).toEqual({});
  });

  it('reads the CA, the client certificate and key, and the SASL credentials', () => {
    expect(
      kafkaSecurityConfig({
        PULLWATCH_KAFKA_SSL: 'true',
        PULLWATCH_KAFKA_SSL_CA_FILE: ca,
        PULLWATCH_KAFKA_SSL_CERT_FILE: cert,
        PULLWATCH_KAFKA_SSL_KEY_FILE: key,
        PULLWATCH_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        PULLWATCH_KAFKA_SASL_USERNAME: 'pullwatch',
        PULLWATCH_KAFKA_SASL_PASSWORD: 's3cret',
      }),
    ).toEqual({
      tls: { ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'pullwatch', password: 's3cret' },
    });
    // TLS with Node's CAs (a public CA), SASL PLAIN.
    expect(
      kafkaSecurityConfig({
        PULLWATCH_KAFKA_SSL: '1',
        PULLWATCH_KAFKA_SASL_MECHANISM: 'PLAIN',
        PULLWATCH_KAFKA_SASL_USERNAME: 'u',
        PULLWATCH_KAFKA_SASL_PASSWORD: 'p',
      }),
    ).toEqual({ tls: {}, sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } });
  });

  it('refuses what is missing, contradictory or unreadable, naming the setting', () => {
    expect(refused({ PULLWATCH_KAFKA_SASL_MECHANISM: 'GSSAPI' })[0]).toBe('PULLWATCH_KAFKA_SASL_MECHANISM');
    expect(refused({ PULLWATCH_KAFKA_SSL: 'yes' })[0]).toBe('PULLWATCH_KAFKA_SSL');
    expect(refused({ PULLWATCH_KAFKA_SASL_MECHANISM: 'PLAIN', PULLWATCH_KAFKA_SASL_PASSWORD: 'p' })).toEqual([
      'PULLWATCH_KAFKA_SASL_USERNAME',
      'PULLWATCH_KAFKA_SASL_USERNAME: needed with PULLWATCH_KAFKA_SASL_MECHANISM=PLAIN',
    ]);
    expect(refused({ PULLWATCH_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', PULLWATCH_KAFKA_SASL_USERNAME: 'u' })[0]).toBe(
      'PULLWATCH_KAFKA_SASL_PASSWORD',
    );
    expect(refused({ PULLWATCH_KAFKA_SASL_USERNAME: 'u', PULLWATCH_KAFKA_SASL_PASSWORD: 'p' })[0]).toBe(
      'PULLWATCH_KAFKA_SASL_MECHANISM',
    );
    expect(refused({ PULLWATCH_KAFKA_SSL_CA_FILE: ca })).toEqual([
      'PULLWATCH_KAFKA_SSL_CA_FILE',
      'PULLWATCH_KAFKA_SSL_CA_FILE: set, but PULLWATCH_KAFKA_SSL is not true (TLS is off)',
    ]);
    expect(refused({ PULLWATCH_KAFKA_SSL: 'true', PULLWATCH_KAFKA_SSL_CERT_FILE: cert })[0]).toBe(
      'PULLWATCH_KAFKA_SSL_KEY_FILE',
    );
    const missing = join(dir, 'missing.pem');
    expect(refused({ PULLWATCH_KAFKA_SSL: 'true', PULLWATCH_KAFKA_SSL_CA_FILE: missing })[1]).toMatch(
      new RegExp(`^PULLWATCH_KAFKA_SSL_CA_FILE: cannot read ${missing}: ENOENT`),
    );
  });
});
