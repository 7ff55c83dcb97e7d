import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '@pullwatch/collector';
import { FakeApiServer } from '../services/collector/test/fake-apiserver.ts';
import { ServiceStack } from './support/service-stack.ts';
import { until as waitUntil } from './support/until.ts';

const until = (check: () => boolean | Promise<boolean>, what: string, ms = 90_000) => waitUntil(check, what, ms);

// Issue 17 end to end: a cluster (the fake API server: Namespaces with a team label, Pods with
// ownerReferences, their Events) → the collector's watch → Kafka → the analyzer → ClickHouse rows with
// each Pod's workload and team; Events posted to the ingest without a Pod get an inferred workload.
const stack = new ServiceStack('workloads_it', { env: { PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600' } });
const { database } = stack;
const admin = ServiceStack.clickhouse();
const api = new FakeApiServer();
const INGEST_TOKEN = 'workloads-test-ingest-token';
let collector: Collector;

const T0 = Date.now() - 10 * 60_000;
const failed = (img: string) =>
  `Failed to pull image "${img}": rpc error: code = NotFound desc = failed to pull and unpack ` +
  `image "${img}": not found`;
const image = (pod: string) => `ghcr.io/acme/${pod}:1`;

function event(namespace: string, pod: string) {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${pod}.f`, namespace, uid: `uid-${namespace}-${pod}` },
    involvedObject: { kind: 'Pod', name: pod, namespace, fieldPath: 'spec.containers{app}' },
    reason: 'Failed',
    message: failed(image(pod)),
    type: 'Warning',
    count: 1,
    firstTimestamp: new Date(T0).toISOString(),
    lastTimestamp: new Date(T0).toISOString(),
    source: { host: 'node-a' },
  };
}

type Owner = { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean };
function pod(namespace: string, name: string, owners: Owner[], labels: Record<string, string> = {}) {
  return {
    metadata: { name, namespace, uid: `pod-${namespace}-${name}`, labels, ownerReferences: owners },
    spec: { nodeName: 'node-a', containers: [{ name: 'app', image: image(name), imagePullPolicy: 'IfNotPresent' }] },
    status: {},
  };
}
const owner = (kind: string, name: string, controller = true): Owner => ({
  apiVersion: kind === 'Job' || kind === 'CronJob' ? 'batch/v1' : 'apps/v1',
  kind,
  name,
  uid: `owner-${name}`,
  controller,
});

// Each Pod with the workload the collector must resolve from its owner references.
const WATCHED = [
  {
    pod: pod('shop', 'checkout-7d4b9c8f5d-x7k2p', [owner('ReplicaSet', 'checkout-7d4b9c8f5d')], {
      'pod-template-hash': '7d4b9c8f5d',
    }),
    workload: ['Deployment', 'checkout', false],
  },
  { pod: pod('shop', 'cart-0', [owner('StatefulSet', 'cart')]), workload: ['StatefulSet', 'cart', false] },
  {
    pod: pod('platform', 'fluent-bit-q9z4w', [owner('DaemonSet', 'fluent-bit')]),
    workload: ['DaemonSet', 'fluent-bit', false],
  },
  {
    pod: pod('platform', 'nightly-report-29410560-zt5vq', [owner('Job', 'nightly-report-29410560')]),
    workload: ['CronJob', 'nightly-report', true],
  },
  {
    pod: pod('platform', 'migrate-schema-b4k9s', [owner('Job', 'migrate-schema')]),
    workload: ['Job', 'migrate-schema', false],
  },
  // A bare Pod: no workload, and none inferred from a name that looks generated.
  { pod: pod('sandbox', 'debug-x7k2p', []), workload: ['', '', false] },
] as const;

async function rows<T>(query: string): Promise<T[]> {
  const rs = await admin.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

beforeAll(async () => {
  await api.start();
  api.put('namespaces', { metadata: { name: 'shop', uid: 'ns-shop', labels: { team: 'payments' } } });
  api.put('namespaces', { metadata: { name: 'platform', uid: 'ns-platform', labels: { team: 'sre' } } });
  api.put('namespaces', { metadata: { name: 'sandbox', uid: 'ns-sandbox', labels: { owner: 'nobody' } } });
  for (const w of WATCHED) api.put('pods', w.pod);
  for (const w of WATCHED) api.put('events', event(w.pod.metadata.namespace, w.pod.metadata.name));
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'pw-kube-')), 'config');
  api.writeKubeconfig(kubeconfig, ['ctx-a']);

  await stack.migrate(admin);
  await stack.analyzer();
  collector = await stack.collector({
    env: {
      PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
      PULLWATCH_KUBECONFIG: kubeconfig,
      PULLWATCH_KUBE_CONTEXTS: 'ctx-a=prod-a',
      PULLWATCH_TEAM_LABEL: 'team',
    },
  });
});

afterAll(async () => {
  await stack.stop();
  await api.stop();
  await admin.close();
});

type WorkloadRow = {
  pod: string;
  workload_kind: string;
  workload_name: string;
  workload_inferred: boolean;
  team: string;
};
const COLS = 'pod, workload_kind, workload_name, workload_inferred, team';

describe('workloads and teams, end to end', () => {
  it(
    'stores the workload from ownerReferences and the team from the Namespace label with every failure and Pod ' +
      'state',
    async () => {
      const expected = WATCHED.map((w) => ({
        pod: w.pod.metadata.name,
        workload_kind: w.workload[0],
        workload_name: w.workload[1],
        workload_inferred: w.workload[2],
        team: { shop: 'payments', platform: 'sre', sandbox: '' }[w.pod.metadata.namespace],
      })).sort((a, b) => a.pod.localeCompare(b.pod));
      // The analyzer writes pull_events (and through it pull_failures) and pod_pull_state in separate inserts.
      const count = async (table: string) =>
        Number((await rows<{ n: string }>(`SELECT count() AS n FROM ${database}.${table}`))[0]!.n);
      await until(
        async () => (await count('pull_failures')) >= 6 && (await count('pod_pull_state FINAL')) >= 6,
        'six failures and six Pod states',
      );
      expect(await rows<WorkloadRow>(`SELECT ${COLS} FROM ${database}.pull_failures ORDER BY pod`)).toEqual(expected);
      expect(await rows<WorkloadRow>(`SELECT ${COLS} FROM ${database}.pull_events ORDER BY pod`)).toEqual(expected);
      expect(await rows<WorkloadRow>(`SELECT ${COLS} FROM ${database}.pod_pull_state FINAL ORDER BY pod`)).toEqual(
        expected,
      );
    },
  );

  it(
    'infers the workload from the Pod name for Events posted without a Pod watch, team unknown; keeps the ' +
      'watch type',
    async () => {
      const body = [
        { type: 'ADDED', object: event('web', 'api-6b9f4c7d9-b2c4d') },
        { type: 'MODIFIED', object: { ...event('web', 'redis-2'), count: 2 } },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n');
      const res = await fetch(`${collector.ingestUrl}/v1/k8s-events?cluster=edge-1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/x-ndjson' },
        body,
      });
      expect(res.status).toBe(200);
      await until(
        async () => (await rows(`SELECT 1 FROM ${database}.pull_failures WHERE cluster = 'edge-1'`)).length === 2,
        'the two ingested failures',
      );
      expect(
        await rows<WorkloadRow>(`SELECT ${COLS} FROM ${database}.pull_failures WHERE cluster = 'edge-1' ORDER BY pod`),
      ).toEqual([
        {
          pod: 'api-6b9f4c7d9-b2c4d',
          workload_kind: 'Deployment',
          workload_name: 'api',
          workload_inferred: true,
          team: '',
        },
        { pod: 'redis-2', workload_kind: 'StatefulSet', workload_name: 'redis', workload_inferred: true, team: '' },
      ]);
      expect(
        await rows(
          `SELECT object_name, JSONExtractString(payload, 'watchType') AS watch_type FROM ${database}.raw_events ` +
            `WHERE cluster = 'edge-1' ORDER BY object_name`,
        ),
      ).toEqual([
        { object_name: 'api-6b9f4c7d9-b2c4d', watch_type: 'ADDED' },
        { object_name: 'redis-2', watch_type: 'MODIFIED' },
      ]);
    },
  );

  it('follows a Namespace label added while watching: later failures carry the new team', async () => {
    api.put('namespaces', { metadata: { name: 'sandbox', uid: 'ns-sandbox', labels: { team: 'research' } } });
    const p = pod('sandbox', 'notebook-0', [owner('StatefulSet', 'notebook')]);
    // Written in this order to the watch streams, which the collector reads as they come.
    api.put('pods', p);
    api.put('events', event('sandbox', 'notebook-0'));
    await until(
      async () => (await rows(`SELECT 1 FROM ${database}.pull_failures WHERE pod = 'notebook-0'`)).length > 0,
      "the new Pod's failure",
    );
    expect(await rows<WorkloadRow>(`SELECT ${COLS} FROM ${database}.pull_failures WHERE pod = 'notebook-0'`)).toEqual([
      {
        pod: 'notebook-0',
        workload_kind: 'StatefulSet',
        workload_name: 'notebook',
        workload_inferred: false,
        team: 'research',
      },
    ]);
  });
});
