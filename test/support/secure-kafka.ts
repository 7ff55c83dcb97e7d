import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalKafka } from '@pullwatch/engines';
import { dedicatedKafka } from './dedicated-kafka.ts';
import { freePort } from './free-port.ts';

/** Files a test hands to the clients: PEM, made by openssl for this broker only. */
export interface TestCertificates {
  dir: string;
  /** The CA that signed the broker's and the client's certificates. */
  ca: string;
  /** Another CA, that signed nothing the broker presents: trusting only it must fail. */
  otherCa: string;
  clientCert: string;
  clientKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A CA, a broker certificate for 127.0.0.1 and localhost (subjectAltName), a client certificate, all
 * signed by the CA; and an unrelated CA. Keys unencrypted PKCS#8 (what Kafka's PEM keystore reads).
 */
export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'pw-certs-'));
  const ca = (name: string, cn: string) =>
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-subj',
      `/CN=${cn}`,
    ]);
  ca('ca', 'pullwatch test CA');
  ca('other-ca', 'pullwatch unrelated CA');
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${cn}`,
    ]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    ]);
  };
  leaf('broker', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  leaf('client', 'pullwatch-client', 'extendedKeyUsage=clientAuth');
  // Kafka's PEM keystore: the private key and the certificate chain in one file.
  writeFileSync(
    join(dir, 'broker-keystore.pem'),
    readFileSync(join(dir, 'broker.key'), 'utf8') + readFileSync(join(dir, 'broker.pem'), 'utf8'),
  );
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
  };
}

export const SASL_USERS = {
  PLAIN: { username: 'pw-plain', password: 'plain-secret-1' },
  'SCRAM-SHA-256': { username: 'pw-scram256', password: 'scram256-secret-1' },
  'SCRAM-SHA-512': { username: 'pw-scram512', password: 'scram512-secret-1' },
} as const;

export interface SecureBroker {
  kafka: LocalKafka;
  /** The SASL_SSL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; server certificate only). */
  saslSsl: string[];
  /** The SSL listener that requires a client certificate signed by the CA (mTLS, no SASL). */
  mtls: string[];
  /** The PLAINTEXT listener (the readiness probe's). */
  plaintext: string[];
  certs: TestCertificates;
  stop(): Promise<void>;
}

/**
 * A real broker of the test's own with a SASL_SSL listener and an mTLS listener beside the PLAINTEXT
 * one (which only its readiness probe uses). The SCRAM users are created when the storage is
 * formatted (Kafka's `kafka-storage format --add-scram`); the PLAIN user comes from the listener's
 * JAAS configuration.
 */
export async function startSecureKafka(): Promise<SecureBroker> {
  const certs = makeCertificates();
  const [port, controllerPort, saslPort, mtlsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const plain = SASL_USERS.PLAIN;
  const broker = dedicatedKafka(port, controllerPort, {
    listeners: [
      { name: 'SECURE', port: saslPort, protocol: 'SASL_SSL' },
      { name: 'MTLS', port: mtlsPort, protocol: 'SSL' },
    ],
    properties: [
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${join(certs.dir, 'broker-keystore.pem')}`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${certs.ca}`,
      'listener.name.secure.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      `listener.name.secure.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${plain.username}="${plain.password}";`,
      'listener.name.secure.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secure.ssl.client.auth=none',
      'listener.name.mtls.ssl.client.auth=required',
    ],
    formatArgs: (['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).flatMap((m) => [
      '--add-scram',
      `${m}=[name=${SASL_USERS[m].username},password=${SASL_USERS[m].password}]`,
    ]),
  });
  await broker.kafka.up(() => undefined);
  return {
    kafka: broker.kafka,
    saslSsl: [`127.0.0.1:${saslPort}`],
    mtls: [`127.0.0.1:${mtlsPort}`],
    plaintext: broker.brokers,
    certs,
    async stop() {
      await broker.kafka.down();
      broker.cleanup();
      rmSync(certs.dir, { recursive: true, force: true });
    },
  };
}
