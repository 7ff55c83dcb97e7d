import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollector, loadCollectorConfig, type Collector } from '@pullwatch/collector';
import { EnvelopeSchema, type Envelope } from '@pullwatch/event-schema';
import { createGroupConsumer } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { FakeApiServer } from '../services/collector/test/fake-apiserver.ts';
import { testEndpoints, uniqueName } from './support/endpoints.ts';

// The real k8sobjects receiver (v0.152.0, built from infra/otel-collector/builder-config.yaml into
// .pullwatch/otelcol-pullwatch, see its README) running infra/otel-collector/pullwatch-events.yaml against
// the fake Kubernetes API server and the real pullwatch collector. It shows what the README says: the
// existing Events arrive (include_initial_state), updates arrive, and an Event created while the watch
// was down past a compaction (410 Gone) is lost. Its own project (`npm run test:otelcol`), since it needs that
// binary, which takes minutes to build through the Go module proxy: it fails, naming how, when it is missing.

const BIN = process.env.PULLWATCH_OTELCOL ?? join(process.cwd(), '.pullwatch/otelcol-pullwatch/otelcol-pullwatch');
if (!existsSync(BIN))
  throw new Error(`${BIN} is missing: build it as infra/otel-collector/README.md says, or set PULLWATCH_OTELCOL`);
const CONFIG = new URL('../infra/otel-collector/pullwatch-events.yaml', import.meta.url).pathname;

const logger = createLogger('otelcol-test', 'silent');
const kafka = { brokers: testEndpoints().kafka.brokers, clientId: 'otelcol-test', logger };
const topic = uniqueName('otelcol_it');
const INGEST_TOKEN = 'otelcol-ingest-token';
const api = new FakeApiServer();
let discovery: Server;
let collector: Collector;
/** pullwatch's own watcher on the same fake API server, for comparison. */
let watcher: Collector;
let otelcol: ChildProcess | null = null;
let otelcolLog = '';
const received: Envelope[] = [];
/** The receiver's requests for events, as they pass the discovery front. */
const proxied: { watch: boolean }[] = [];
const consumer = createGroupConsumer(kafka, {
  groupId: uniqueName('otelcol_g'),
  topic,
  sessionTimeoutMs: 10_000,
  minBytes: 1,
  maxWaitMs: 100,
  maxBytesPerPartition: 1 << 20,
});

const img = 'ghcr.io/acme/api:9.9.9';
const event = (name: string, count: number) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: 'shop', uid: `uid-${name}` },
  involvedObject: { kind: 'Pod', name: 'api-1', namespace: 'shop', fieldPath: 'spec.containers{api}' },
  reason: 'Failed',
  message:
    `Failed to pull image "${img}": rpc error: code = NotFound desc = failed to resolve reference ` +
    `"${img}": not found`,
  type: 'Warning',
  count,
  firstTimestamp: '2026-11-30T10:00:00Z',
  lastTimestamp: new Date(Date.UTC(2026, 10, 30, 10, count)).toISOString(),
  source: { component: 'kubelet', host: 'node-a' },
});
const seen = (cluster = 'otel-fake') =>
  received
    .filter((e) => e.cluster === cluster)
    .map((e) => (e.kind === 'event' ? `${e.event.metadata?.name}#${e.event.count}` : e.kind));

async function until(what: string, probe: () => boolean, ms = 60_000) {
  const end = Date.now() + ms;
  while (!probe()) {
    if (otelcol?.exitCode !== null) throw new Error(`the OpenTelemetry Collector exited:\n${otelcolLog.slice(-3000)}`);
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}; received ${seen()}\n${otelcolLog.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The discovery documents client-go asks for first (the fake API server serves only core/v1 events and pods). */
function discoveryFront(target: string): Server {
  const json = (o: unknown) => JSON.stringify(o);
  const docs: Record<string, string> = {
    '/api': json({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] }),
    '/apis': json({ kind: 'APIGroupList', apiVersion: 'v1', groups: [] }),
    '/api/v1': json({
      kind: 'APIResourceList',
      groupVersion: 'v1',
      resources: [
        { name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['get', 'list', 'watch'] },
      ],
    }),
  };
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const doc = docs[path];
    if (path === '/api/v1/events') proxied.push({ watch: /[?&]watch=(true|1)/.test(req.url ?? '') });
    if (doc) return void res.writeHead(200, { 'content-type': 'application/json' }).end(doc);
    // The fake API server wants its test token; client-go does not send a kubeconfig token over plain HTTP.
    const headers = { ...req.headers, authorization: 'Bearer test-token' };
    const up = request(`${target}${req.url}`, { method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
      // A connection the fake API server drops is dropped here too (not ended cleanly).
      r.on('close', () => {
        if (!r.complete) res.destroy();
      });
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
}

beforeAll(async () => {
  await api.start();
  discovery = discoveryFront(api.url);
  await new Promise<void>((r) => discovery.listen(0, '127.0.0.1', r));
  const front = `http://127.0.0.1:${(discovery.address() as AddressInfo).port}`;
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'pw-otelcol-')), 'config');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: { server: "${front}" }\nusers:\n- name: ` +
      `tester\n  user: { token: test-token }\ncontexts:\n- name: fake\n  context: { cluster: fake, user: ` +
      `tester }\ncurrent-context: fake\n`,
  );

  collector = createCollector(
    loadCollectorConfig({
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_TOPIC: topic,
      PULLWATCH_TOPIC_PARTITIONS: '1',
      PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
    }),
    { logger, metrics: createMetricsRegistry('otelcol-test'), kafka },
  );
  await collector.start();
  await consumer.run(async (batch) => {
    for (const m of batch.messages) received.push(EnvelopeSchema.parse(JSON.parse(m.value!.toString())));
  });

  // An Event that exists before the receiver starts.
  api.put('events', event('api-1.a', 1));
  const ownKubeconfig = join(mkdtempSync(join(tmpdir(), 'pw-otelcol-')), 'config');
  api.writeKubeconfig(ownKubeconfig, ['ctx-w']);
  watcher = createCollector(
    loadCollectorConfig({
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_TOPIC: topic,
      PULLWATCH_TOPIC_PARTITIONS: '1',
      PULLWATCH_KUBECONFIG: ownKubeconfig,
      PULLWATCH_KUBE_CONTEXTS: 'ctx-w=pullwatch-watch',
    }),
    { logger, metrics: createMetricsRegistry('otelcol-test-watch'), kafka },
  );
  await watcher.start();
  // Outside a cluster: the kubeconfig instead of the service account; no telemetry port of its own.
  // A second configuration file, merged over the one under test.
  const override = join(mkdtempSync(join(tmpdir(), 'pw-otelcol-')), 'override.yaml');
  writeFileSync(
    override,
    'receivers:\n  k8sobjects:\n    auth_type: kubeConfig\nservice:\n  telemetry:\n    metrics:\n      level: none\n',
  );
  otelcol = spawn(BIN, [`--config=file:${CONFIG}`, `--config=file:${override}`], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: kubeconfig,
      PULLWATCH_CLUSTER: 'otel-fake',
      PULLWATCH_INGEST_URL: collector.ingestUrl,
      PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  otelcol.stdout!.on('data', (d: Buffer) => (otelcolLog += d.toString()));
  otelcol.stderr!.on('data', (d: Buffer) => (otelcolLog += d.toString()));
}, 180_000);

afterAll(async () => {
  if (otelcol && otelcol.exitCode === null) {
    const exited = new Promise((r) => otelcol!.once('exit', r));
    otelcol.kill('SIGTERM');
    await exited;
  }
  await consumer.close();
  await watcher.stop();
  await collector.stop();
  await new Promise((r) => discovery.close(r));
  await api.stop();
});

describe('the real k8sobjects receiver with infra/otel-collector/pullwatch-events.yaml', () => {
  it(
    'sends existing Events and updates, and loses what ' + 'changed during a 410 Gone gap (pullwatch does not)',
    async () => {
      // include_initial_state: the Event from before the start arrives, with the cluster from the resource processor.
      await until('the existing Event', () => seen().length >= 1);
      expect(received.find((e) => e.cluster === 'otel-fake')).toMatchObject({ source: 'otlp', kind: 'event' });
      expect(seen()).toEqual(['api-1.a#1']);
      await until('pullwatch’s watcher to list it', () => seen('pullwatch-watch').length >= 1);

      // A watched update (MODIFIED, count 2).
      api.put('events', event('api-1.a', 2));
      await until('the update', () => seen().length >= 2 && seen('pullwatch-watch').length >= 2);
      expect(seen()).toEqual(['api-1.a#1', 'api-1.a#2']);

      // The watches break; meanwhile a new Event is created and the API server compacts past the last
      // version they saw. The receiver gets 410 Gone, relists only for a new resourceVersion and watches
      // on: api-1.b is never sent. api-1.c, created after, arrives.
      const lists = () => proxied.filter((r) => !r.watch).length;
      const listsBefore = lists();
      api.dropConnections();
      api.put('events', event('api-1.b', 1));
      api.compact();
      await until('the receiver’s relist after 410 Gone', () => lists() > listsBefore);
      // The relist is done once the receiver watches again from the list's version.
      await until('the receiver’s new watch', () => proxied.at(-1)?.watch === true);
      api.put('events', event('api-1.c', 1));
      await until('the Event after the gap', () => seen().length >= 3);
      expect(seen()).toEqual(['api-1.a#1', 'api-1.a#2', 'api-1.c#1']);
      expect(otelcolLog).toContain('received a 410');
      // pullwatch's own watcher on the same API server: its relist after 410 Gone forwards api-1.b.
      await until('pullwatch’s watcher after the gap', () => seen('pullwatch-watch').length >= 4);
      expect(seen('pullwatch-watch')).toEqual(['api-1.a#1', 'api-1.a#2', 'api-1.b#1', 'api-1.c#1']);
    },
  );
});
