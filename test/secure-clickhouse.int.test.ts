import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseTlsError, createClickHouse, waitForClickHouse } from '@pullwatch/clickhouse';
import { loadEnginesConfig, resolveEndpoints } from '@pullwatch/engines';
import { testEndpoints } from './support/endpoints.ts';
import { makeCertificates, type TestCertificates } from './support/certificates.ts';
import { startTlsProxy } from './support/tls-proxy.ts';

// ClickHouse over HTTPS with a private CA. The embedded engine serves plain HTTP only, so a real TLS
// terminator (Node's tls server, with a certificate for 127.0.0.1 signed by a CA made here) stands in
// front of it, as a load balancer or ClickHouse's own https_port would.
const clickhouse = testEndpoints().clickhouse;
let certs: TestCertificates;
let proxy: Awaited<ReturnType<typeof startTlsProxy>>;

beforeAll(async () => {
  certs = makeCertificates();
  const target = new URL(clickhouse.url);
  proxy = await startTlsProxy(target.hostname, Number(target.port), {
    key: readFileSync(certs.serverKey),
    cert: readFileSync(certs.serverCert),
  });
});

afterAll(async () => {
  await proxy?.close();
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

/** The ClickHouse endpoint a service resolves from its environment. */
const endpointFor = (caFile: string) =>
  resolveEndpoints(
    loadEnginesConfig({
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_KAFKA_BROKERS: '127.0.0.1:9',
      PULLWATCH_CLICKHOUSE_URL: `https://127.0.0.1:${proxy.port}`,
      PULLWATCH_CLICKHOUSE_USER: clickhouse.user,
      PULLWATCH_CLICKHOUSE_PASSWORD: clickhouse.password,
      PULLWATCH_CLICKHOUSE_CA_FILE: caFile,
    }),
  ).clickhouse;

describe('ClickHouse over HTTPS from PULLWATCH_CLICKHOUSE_CA_FILE', () => {
  it('queries through HTTPS, trusting the CA given', async () => {
    const client = createClickHouse(endpointFor(certs.ca));
    try {
      await waitForClickHouse(client, { timeoutMs: 10_000 });
      const rows = await (await client.query({ query: 'SELECT 41 + 1 AS answer', format: 'JSONEachRow' })).json();
      expect(rows).toEqual([{ answer: 42 }]);
    } finally {
      await client.close();
    }
  });

  it('refuses a server whose certificate the CA did not sign, at once and naming the setting', async () => {
    const client = createClickHouse(endpointFor(certs.otherCa));
    const t0 = Date.now();
    try {
      const err = await waitForClickHouse(client, { timeoutMs: 60_000 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ClickHouseTlsError);
      expect((err as ClickHouseTlsError).setting).toBe('PULLWATCH_CLICKHOUSE_CA_FILE');
      expect((err as ClickHouseTlsError).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      expect((err as Error).message).toMatch(
        new RegExp(
          "^ClickHouse HTTPS: the server's certificate is not trusted " +
            '\\(UNABLE_TO_VERIFY_LEAF_SIGNATURE: .+\\); check PULLWATCH_CLICKHOUSE_CA_FILE',
        ),
      );
      // Not waited out as if ClickHouse were down: retrying cannot help.
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await client.close();
    }
  });
});
