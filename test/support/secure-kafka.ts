import { rmSync } from 'node:fs';
import type { LocalKafka } from '@pullwatch/engines';
import { makeCertificates, type TestCertificates } from './certificates.ts';
import { dedicatedKafka } from './dedicated-kafka.ts';
import { freePort } from './free-port.ts';

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
      `ssl.keystore.location=${certs.serverKeystore}`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${certs.ca}`,
      'listener.name.secure.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      `listener.name.secure.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule ` +
        `required user_${plain.username}="${plain.password}";`,
      'listener.name.secure.scram-sha-256.sasl.jaas.config=' +
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secure.scram-sha-512.sasl.jaas.config=' +
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
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
