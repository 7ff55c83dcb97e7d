import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, migrate } from '@pullwatch/clickhouse';
import { eventEnvelope, normalizeEvent, podWaitingEnvelope, type Envelope } from '@pullwatch/event-schema';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { AnalyzerState, processEnvelope } from './core/process.ts';
import { PULL_EVENT_FORMAT, RAW_EVENT_FORMAT } from './core/table-formats.ts';
import { AnalyzerStore } from './store.ts';

/**
 * Since migration 0007 raw_events stores the envelope once (`payload`) and reads message, event_uid,
 * resource_version and identity from it: they must be exactly what the analyzer derived from the
 * envelope (and wrote into those columns before 0007), for every shape of envelope.
 */
describe('raw_events read from the stored envelope', () => {
  const database = uniqueName('raw_events_it');
  const client = createClickHouse({ ...testEndpoints().clickhouse });
  const store = new AnalyzerStore(client, database);

  beforeAll(async () => {
    await migrate(client, { database, ttlDays: 90 });
  });
  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

  it(
    'gives message, event_uid, resource_version and identity of core/v1 and events.k8s.io/v1 Events ' +
      'and of Pod status',
    async () => {
      const at = new Date(Date.now() - 60_000);
      const ts = at.toISOString();
      const core = {
        apiVersion: 'v1',
        kind: 'Event' as const,
        metadata: { uid: 'uid-core', name: 'web-1.a', namespace: 'shop', resourceVersion: '101' },
        involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', fieldPath: 'spec.containers{web}' },
        reason: 'Failed',
        type: 'Warning',
        message:
          'Failed to pull image "quay.io/acme/web:1": rpc error: code = NotFound ' +
          'desc = "quay.io/acme/web:1": not found',
        count: 4,
        firstTimestamp: ts,
        lastTimestamp: ts,
        source: { component: 'kubelet', host: 'node-1' },
      };
      // events.k8s.io/v1: `note` instead of `message`, `series.count`, no metadata.uid (the uid is namespace/name).
      const series = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event' as const,
        metadata: { name: 'web-2.b', namespace: 'shop' },
        regarding: { kind: 'Pod', name: 'web-2', namespace: 'shop' },
        reason: 'BackOff',
        type: 'Normal',
        note: 'Back-off pulling image "quay.io/acme/web:1"',
        series: { count: 7, lastObservedTime: ts },
        eventTime: ts,
        reportingController: 'kubelet',
        reportingInstance: 'node-2',
      };
      const envelopes: Envelope[] = [
        eventEnvelope({ cluster: 'eu', source: 'watch', event: core, receivedAt: at }).envelope,
        eventEnvelope({ cluster: 'eu', source: 'watch', event: series, receivedAt: at }).envelope,
        podWaitingEnvelope({
          cluster: 'eu',
          source: 'watch',
          receivedAt: at,
          podWaiting: {
            namespace: 'shop',
            pod: 'web-3',
            podUid: 'pod-uid-3',
            node: 'node-3',
            container: 'web',
            image: 'quay.io/acme/web:1',
            imagePullPolicy: 'IfNotPresent',
            hasPullSecrets: false,
            reason: 'ImagePullBackOff',
            message: 'Back-off pulling image "quay.io/acme/web:1"',
            observedAt: ts,
          },
        }).envelope,
        // A waiting container without a message.
        podWaitingEnvelope({
          cluster: 'eu',
          source: 'watch',
          receivedAt: at,
          podWaiting: {
            namespace: 'shop',
            pod: 'web-4',
            podUid: 'pod-uid-4',
            node: null,
            container: 'web',
            image: 'quay.io/acme/web:1',
            imagePullPolicy: null,
            hasPullSecrets: false,
            reason: 'ErrImagePull',
            message: null,
            observedAt: ts,
          },
        }).envelope,
      ];
      const state = new AnalyzerState();
      const processed = envelopes.map((env, offset) =>
        processEnvelope(env, { partition: 0, offset }, state, { stuckAfterMs: 600_000, payload: JSON.stringify(env) }),
      );
      await store.writeBatch(
        'raw-events-it:0:0-3',
        [PULL_EVENT_FORMAT.block(processed.flatMap((p) => (p.pull ? [p.pull] : [])))],
        [RAW_EVENT_FORMAT.block(processed.map((p) => p.raw))],
        [],
      );

      const rs = await client.query({
        query: `SELECT toUInt32(kafka_offset) AS kafka_offset, message, event_uid, resource_version, identity
              FROM ${database}.raw_events ORDER BY kafka_offset`,
        format: 'JSONEachRow',
      });
      const coreN = normalizeEvent(core);
      const seriesN = normalizeEvent(series);
      expect(await rs.json()).toEqual([
        {
          kafka_offset: 0,
          message: coreN.message,
          event_uid: 'uid-core',
          resource_version: '101',
          identity: 'eu/uid-core/4',
        },
        {
          kafka_offset: 1,
          message: 'Back-off pulling image "quay.io/acme/web:1"',
          event_uid: seriesN.uid,
          resource_version: '',
          identity: `eu/${seriesN.uid}/7`,
        },
        {
          kafka_offset: 2,
          message: 'Back-off pulling image "quay.io/acme/web:1"',
          event_uid: 'pod-uid-3',
          resource_version: '',
          identity: 'eu/pod-uid-3/web/ImagePullBackOff/Back-off pulling image "quay.io/acme/web:1"',
        },
        {
          kafka_offset: 3,
          message: '',
          event_uid: 'pod-uid-4',
          resource_version: '',
          identity: 'eu/pod-uid-4/web/ErrImagePull/',
        },
      ]);
      expect(seriesN.uid).toBe('shop/web-2.b');

      // pull_events.identity, computed from its own columns, is the envelope's identity.
      const pe = await client.query({
        query: `SELECT toUInt32(kafka_offset) AS kafka_offset, identity
              FROM ${database}.pull_events ORDER BY kafka_offset`,
        format: 'JSONEachRow',
      });
      expect(await pe.json()).toEqual([
        { kafka_offset: 0, identity: 'eu/uid-core/4' },
        { kafka_offset: 1, identity: 'eu/shop/web-2.b/7' },
      ]);
    },
  );
});
