import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Certificates a test makes for its own servers and clients: PEM, by openssl, valid two days. */
export interface TestCertificates {
  dir: string;
  /** The CA that signed the broker's and the client's certificates. */
  ca: string;
  /** Another CA, that signed nothing the server presents: trusting only it must fail. */
  otherCa: string;
  /** The server's certificate (127.0.0.1, localhost) and key. */
  serverCert: string;
  serverKey: string;
  /** Kafka's PEM keystore: the server's key and certificate in one file. */
  serverKeystore: string;
  clientCert: string;
  clientKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A CA, a server certificate for 127.0.0.1 and localhost (subjectAltName), a client certificate, all
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
  leaf('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  leaf('client', 'pullwatch-client', 'extendedKeyUsage=clientAuth');
  // Kafka's PEM keystore: the private key and the certificate chain in one file.
  writeFileSync(
    join(dir, 'server-keystore.pem'),
    readFileSync(join(dir, 'server.key'), 'utf8') + readFileSync(join(dir, 'server.pem'), 'utf8'),
  );
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    serverKeystore: join(dir, 'server-keystore.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
  };
}
