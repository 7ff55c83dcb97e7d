import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '@pullwatch/collector';
import { FakeApiServer } from '../services/collector/test/fake-apiserver.ts';
import { ServiceStack } from './support/service-stack.ts';
import { untilValue } from './support/until.ts';

// Issue 21: every field from outside is bounded where the collector builds the normalised Event, on the
// ingest routes and the Kubernetes watch alike: a 1 MiB message is stored as its first 8192 characters with
// raw_events.message_truncated = 1; an Event naming a namespace or Pod longer than Kubernetes allows is
// refused alone (counted), and the rest of its request is stored.
const stack = new ServiceStack('field_limits_it', { env: { PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600' } });
const { database } = stack;
const admin = ServiceStack.clickhouse();
const api = new FakeApiServer();
const INGEST_TOKEN = 'field-limits-test-ingest-token';
const MiB = 1 << 20;
let collector: Collector;

const T0 = Date.now() - 10 * 60_000;
const IMAGE = 'ghcr.io/acme/api:1';
const FAILED = `Failed to pull image "${IMAGE}": rpc error: code = NotFound desc = ${IMAGE}: not found`;

function event(uid: string, pod: string, message: string, patch: { namespace?: string; fieldPath?: string } = {}) {
  const namespace = patch.namespace ?? 'shop';
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${pod.slice(0, 200)}.${uid}`, namespace, uid },
    involvedObject: { kind: 'Pod', name: pod, namespace, fieldPath: patch.fieldPath ?? 'spec.containers{app}' },
    reason: 'Failed',
    message,
    type: 'Warning',
    count: 1,
    firstTimestamp: new Date(T0).toISOString(),
    lastTimestamp: new Date(T0).toISOString(),
    source: { host: 'node-a' },
  };
}

interface RawRow {
  uid: string;
  length: number;
  prefix: string;
  message_truncated: number;
}

/** The raw rows of a cluster, once there are `n`, with their message's length and first characters. */
const rawRows = (cluster: string, n: number) =>
  untilValue(
    async () => {
      const rs = await admin.query({
        query:
          `SELECT event_uid AS uid, length(message) AS length, substring(message, 1, 40) AS prefix, ` +
          `message_truncated FROM ${database}.raw_events WHERE cluster = {cluster:String} ORDER BY uid`,
        query_params: { cluster },
        format: 'JSONEachRow',
      });
      const rows = (await rs.json<RawRow>()).map((r) => ({ ...r, length: Number(r.length) }));
      return rows.length >= n ? rows : null;
    },
    `${n} raw rows of ${cluster}`,
    90_000,
  );

beforeAll(async () => {
  await api.start();
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'pw-kube-')), 'config');
  api.writeKubeconfig(kubeconfig, ['ctx-a']);
  // The watch path: one Event with a 1 MiB message, one naming a Pod longer than a DNS subdomain.
  api.put('events', event('w-long-message', 'web-1', `${FAILED} ${'w'.repeat(MiB)}`));
  api.put('events', event('w-long-name', 'p'.repeat(254), FAILED));
  api.put('events', event('w-ok', 'web-2', FAILED));

  await stack.migrate(admin);
  await stack.analyzer();
  collector = await stack.collector({
    env: {
      PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
      PULLWATCH_KUBECONFIG: kubeconfig,
      PULLWATCH_KUBE_CONTEXTS: 'ctx-a=watched',
    },
  });
});

afterAll(async () => {
  await stack.stop();
  await api.stop();
  await admin.close();
});

const post = (path: string, body: string, contentType = 'application/json') =>
  fetch(`${collector.ingestUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': contentType },
    body,
  });

describe('field limits at the edge, end to end', () => {
  it('HTTP ingest: a 1 MiB message is stored as 8192 characters, flagged; a 64-character namespace is refused alone', async () => {
    const long = `${FAILED} ${'m'.repeat(MiB)}`;
    const res = await post(
      '/v1/k8s-events?cluster=ingest',
      JSON.stringify([
        event('h-long-message', 'api-1', long, { fieldPath: `spec.containers{app}${'f'.repeat(MiB)}` }),
        event('h-long-namespace', 'api-2', FAILED, { namespace: 'n'.repeat(64) }),
        event('h-ok', 'api-3', FAILED),
      ]),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      accepted: 2,
      filtered: 0,
      received: 3,
      rejected: 1,
      rejections: [
        'item 1: metadata.namespace: longer than 63 characters (64), more than a Kubernetes namespace can be',
      ],
    });
    expect(await rawRows('ingest', 2)).toEqual([
      { uid: 'h-long-message', length: 8192, prefix: long.slice(0, 40), message_truncated: 1 },
      { uid: 'h-ok', length: FAILED.length, prefix: FAILED.slice(0, 40), message_truncated: 0 },
    ]);
    // What the classifier and the failures table read is the cut message, classified as the whole one was.
    const rs = await admin.query({
      query:
        `SELECT event_uid, length(message) AS length, container, cause, image FROM ${database}.pull_events ` +
        `WHERE cluster = 'ingest' ORDER BY event_uid`,
      format: 'JSONEachRow',
    });
    expect((await rs.json<Record<string, unknown>>()).map((r) => ({ ...r, length: Number(r.length) }))).toEqual([
      { event_uid: 'h-long-message', length: 8192, container: 'app', cause: 'not_found', image: IMAGE },
      { event_uid: 'h-ok', length: FAILED.length, container: 'app', cause: 'not_found', image: IMAGE },
    ]);
    const metrics = await (await fetch(`${collector.ingestUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /^pullwatch_collector_events_total\{source="http",cluster="ingest",outcome="rejected"[^}]*\} 1$/m,
    );
    expect(collector.stats()).toMatchObject({ invalid: 1 });
  });

  it('OTLP/JSON: a record naming a Pod over 253 characters is a partial success, the rest stored', async () => {
    const record = (e: object) => ({ body: { stringValue: JSON.stringify(e) } });
    const res = await post(
      '/v1/logs',
      JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'k8s.cluster.name', value: { stringValue: 'otlp' } }] },
            scopeLogs: [
              {
                logRecords: [
                  record(event('o-long-name', 'p'.repeat(254), FAILED)),
                  record(event('o-long-message', 'api-4', `${FAILED} ${'o'.repeat(9000)}`)),
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      partialSuccess: {
        rejectedLogRecords: '1',
        errorMessage:
          '1 log records refused: resourceLogs[0].scopeLogs[0].logRecords[0]: involvedObject.name: longer than 253 ' +
          'characters (254), more than a Kubernetes object name can be',
      },
    });
    expect(await rawRows('otlp', 1)).toEqual([
      { uid: 'o-long-message', length: 8192, prefix: FAILED.slice(0, 40), message_truncated: 1 },
    ]);
  });

  it('the Kubernetes watch: the 1 MiB message is cut and flagged, the Pod named over 253 characters dropped and counted', async () => {
    const long = `${FAILED} ${'w'.repeat(MiB)}`;
    expect(await rawRows('watched', 2)).toEqual([
      { uid: 'w-long-message', length: 8192, prefix: long.slice(0, 40), message_truncated: 1 },
      { uid: 'w-ok', length: FAILED.length, prefix: FAILED.slice(0, 40), message_truncated: 0 },
    ]);
    const watch = collector.stats().watch[0];
    expect(watch).toMatchObject({ cluster: 'watched', forwarded: 2, invalid: 1 });
    const metrics = await (await fetch(`${collector.ingestUrl}/metrics`)).text();
    expect(metrics).toMatch(/^pullwatch_collector_watch_objects_total\{cluster="watched",outcome="invalid"[^}]*\} 1$/m);
  });
});
