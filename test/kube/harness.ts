import { randomBytes } from 'node:crypto';
import type { Envelope, EventEnvelope } from '@pullwatch/event-schema';
import { createGroupConsumer, topicOffsets } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { createCollector, type Collector } from '../../services/collector/src/collector.ts';
import { loadCollectorConfig } from '../../services/collector/src/config.ts';
import { testEndpoints, uniqueName } from '../support/endpoints.ts';
import type { KubeApiServer } from '../support/kube-apiserver.ts';
import { until } from '../support/until.ts';

export type Logger = ReturnType<typeof createLogger>;

/** The collector watching one cluster through `kubeconfig`, and a consumer of everything it produces. */
export interface Watching {
  collector: Collector;
  topic: string;
  received: Envelope[];
  /** Waits until the consumer holds every message in the topic; returns how many that is. */
  allConsumed(): Promise<number>;
  events(): EventEnvelope[];
  keys(): string[];
  stop(): Promise<void>;
}

export async function watchWithCollector(opts: {
  kubeconfig: string;
  cluster: string;
  teamLabel?: string;
  logger?: Logger;
}): Promise<Watching> {
  const logger =
    opts.logger ?? createLogger('kube-test', (process.env.TEST_LOG_LEVEL as 'warn' | undefined) ?? 'silent');
  const kafka = { brokers: testEndpoints().kafka.brokers, clientId: 'kube-test', logger };
  const topic = uniqueName('kube_real');
  const collector = createCollector(
    loadCollectorConfig({
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_TOPIC: topic,
      PULLWATCH_TOPIC_PARTITIONS: '2',
      PULLWATCH_KUBECONFIG: opts.kubeconfig,
      PULLWATCH_KUBE_CONTEXTS: `real=${opts.cluster}`,
      ...(opts.teamLabel ? { PULLWATCH_TEAM_LABEL: opts.teamLabel } : {}),
    }),
    { logger, metrics: createMetricsRegistry('kube-test'), kafka },
  );
  await collector.start();
  const received: Envelope[] = [];
  const consumer = createGroupConsumer(kafka, {
    groupId: uniqueName('kube_real_g'),
    topic,
    sessionTimeoutMs: 10_000,
    minBytes: 1,
    maxWaitMs: 100,
    maxBytesPerPartition: 1 << 20,
  });
  await consumer.run(async (batch) => {
    for (const m of batch.messages) received.push(JSON.parse(m.value!.toString()) as Envelope);
  });
  const events = () => received.filter((e): e is EventEnvelope => e.kind === 'event');
  return {
    collector,
    topic,
    received,
    events,
    keys: () => received.map((e) => e.identity.key),
    async allConsumed() {
      let produced = -1;
      await until(async () => {
        produced = (await topicOffsets(kafka, topic)).reduce((n, o) => n + o, 0);
        return produced === received.length;
      }, 'the consumer to catch up with the topic');
      return produced;
    },
    async stop() {
      await collector.stop();
      await consumer.close();
    },
  };
}

const hex = (n: number) => randomBytes(n).toString('hex');

export const failedPull = (image: string) =>
  `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image ` +
  `"docker.io/${image}": failed to resolve reference "docker.io/${image}": not found`;

export async function createNamespace(api: KubeApiServer, name: string, labels: Record<string, string> = {}) {
  await api.ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/**
 * A Pod as a ReplicaSet would make it, bound to a node, then its status as kubelet reports a container
 * waiting on its image.
 */
export async function createWaitingPod(
  api: KubeApiServer,
  namespace: string,
  name: string,
  image: string,
  waiting: { reason: string; message: string } = { reason: 'ErrImagePull', message: failedPull(image) },
): Promise<PodRef> {
  // `web-5d8f7c9b4-x2x7q`: Deployment web, ReplicaSet web-5d8f7c9b4 (its pod-template-hash).
  const replicaSet = name.replace(/-[a-z0-9]+$/, '');
  const hash = replicaSet.split('-').at(-1)!;
  const pod = await api.ok<{ metadata: { uid: string } }>('POST', `/api/v1/namespaces/${namespace}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { 'pod-template-hash': hash },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: replicaSet,
          uid: `00000000-0000-4000-8000-${hex(6)}`,
          controller: true,
        },
      ],
    },
    spec: {
      nodeName: 'node-a',
      containers: [{ name: 'app', image, imagePullPolicy: 'IfNotPresent' }],
    },
  });
  await api.ok(
    'PATCH',
    `/api/v1/namespaces/${namespace}/pods/${name}/status`,
    {
      status: {
        phase: 'Pending',
        containerStatuses: [
          { name: 'app', image, imageID: '', ready: false, restartCount: 0, started: false, state: { waiting } },
        ],
      },
    },
    'application/strategic-merge-patch+json',
  );
  return { namespace, name, uid: pod.metadata.uid };
}

export interface EventRef {
  namespace: string;
  name: string;
  uid: string;
}

const kubeletSource = { component: 'kubelet', host: 'node-a' };

/** A core/v1 Event as kubelet's recorder creates it (count 1, first = last timestamp). */
export async function createEvent(
  api: KubeApiServer,
  pod: PodRef,
  reason: string,
  message: string,
  opts: { type?: string; at?: Date; name?: string } = {},
): Promise<EventRef> {
  const at = (opts.at ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  const name = opts.name ?? `${pod.name}.${hex(8)}`;
  const ev = await api.ok<{ metadata: { uid: string } }>('POST', `/api/v1/namespaces/${pod.namespace}/events`, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: pod.namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: pod.namespace,
      name: pod.name,
      uid: pod.uid,
      fieldPath: 'spec.containers{app}',
    },
    reason,
    message,
    type: opts.type ?? 'Warning',
    source: kubeletSource,
    reportingComponent: 'kubelet',
    reportingInstance: 'node-a',
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  });
  return { namespace: pod.namespace, name, uid: ev.metadata.uid };
}

/**
 * What kubelet's event correlator sends when the same Event happens again: a strategic merge patch of
 * `count` and `lastTimestamp` only.
 */
export async function bumpEvent(api: KubeApiServer, ev: EventRef, count: number, at = new Date()): Promise<void> {
  await api.ok(
    'PATCH',
    `/api/v1/namespaces/${ev.namespace}/events/${ev.name}`,
    { count, lastTimestamp: at.toISOString().replace(/\.\d+Z$/, 'Z') },
    'application/strategic-merge-patch+json',
  );
}

/**
 * An events.k8s.io/v1 Event as client-go's new recorder (k8s.io/client-go/tools/events) creates it: no
 * count, an eventTime in microseconds, the reporting controller and instance.
 */
export async function createEventsV1(
  api: KubeApiServer,
  pod: PodRef,
  reason: string,
  note: string,
  opts: { type?: string; action?: string } = {},
): Promise<EventRef> {
  const name = `${pod.name}.${hex(8)}`;
  const ev = await api.ok<{ metadata: { uid: string } }>(
    'POST',
    `/apis/events.k8s.io/v1/namespaces/${pod.namespace}/events`,
    {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace: pod.namespace },
      eventTime: microTime(new Date()),
      reportingController: 'kubelet',
      reportingInstance: 'node-a',
      action: opts.action ?? 'Pulling',
      reason,
      type: opts.type ?? 'Warning',
      note,
      regarding: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: pod.namespace,
        name: pod.name,
        uid: pod.uid,
        fieldPath: 'spec.containers{app}',
      },
    },
  );
  return { namespace: pod.namespace, name, uid: ev.metadata.uid };
}

/** What the new recorder sends when the same Event happens again: its `series` (count, last time). */
export async function bumpSeries(api: KubeApiServer, ev: EventRef, count: number, at = new Date()): Promise<void> {
  await api.ok(
    'PATCH',
    `/apis/events.k8s.io/v1/namespaces/${ev.namespace}/events/${ev.name}`,
    { series: { count, lastObservedTime: microTime(at) } },
    'application/merge-patch+json',
  );
}

const microTime = (d: Date) => d.toISOString().replace(/Z$/, '000Z');
