import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createCollector, loadCollectorConfig, type Collector } from '@pullwatch/collector';
import { EnvelopeSchema } from '@pullwatch/event-schema';
import { readTopic } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { encodeOtlpLogsProtobuf } from '../services/collector/src/ingest/otlp-protobuf.ts';
import { testEndpoints, uniqueName } from './support/endpoints.ts';

// infra/otel-collector/pullwatch-events.yaml: the pipeline is wired as pullwatch needs it, and what that
// pipeline sends (the k8sobjects receiver's watch events as OTLP logs, k8s.cluster.name set by the
// resource processor, the otlphttp exporter's protobuf, gzip and Authorization header) is accepted by the
// real collector and reaches Kafka with the cluster's name.

type Components = Record<string, Record<string, unknown> | null>;
interface OtelConfig {
  receivers: Components;
  processors: Components;
  exporters: Components;
  extensions?: Components;
  service: { pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }> };
}
const DIR = new URL('../infra/otel-collector/', import.meta.url);
const cfg = parse(readFileSync(new URL('pullwatch-events.yaml', DIR), 'utf8')) as OtelConfig;
const builder = parse(readFileSync(new URL('builder-config.yaml', DIR), 'utf8')) as Record<string, { gomod: string }[]>;
const README = readFileSync(new URL('README.md', DIR), 'utf8');
const TOKEN = ['$', '{env:PULLWATCH_INGEST_TOKEN}'].join('');
const CLUSTER = ['$', '{env:PULLWATCH_CLUSTER}'].join('');
const INGEST = ['$', '{env:PULLWATCH_INGEST_URL}'].join('');
/** The component type of an id such as `otlphttp/pullwatch`. */
const typeOf = (id: string) => id.split('/')[0]!;

describe('infra/otel-collector: the pipeline wiring', () => {
  const pipelines = Object.entries(cfg.service.pipelines);

  it('has one logs pipeline: k8sobjects → resource → batch → otlphttp', () => {
    expect(pipelines).toHaveLength(1);
    const [name, p] = pipelines[0]!;
    expect(typeOf(name)).toBe('logs');
    expect(p.receivers.map(typeOf)).toEqual(['k8sobjects']);
    // The cluster attribute is set before batching, so every batch carries it.
    expect(p.processors!.map(typeOf)).toEqual(['resource', 'batch']);
    expect(p.exporters.map(typeOf)).toEqual(['otlphttp']);
  });

  it('defines every component the pipeline uses and uses every component it defines', () => {
    const p = pipelines[0]![1];
    expect(Object.keys(cfg.receivers).sort()).toEqual([...p.receivers].sort());
    expect(Object.keys(cfg.processors).sort()).toEqual([...p.processors!].sort());
    expect(Object.keys(cfg.exporters).sort()).toEqual([...p.exporters].sort());
    // The builder manifest builds exactly these component types.
    const modules = (kind: string) =>
      builder[kind]!.map((m) => /\/([a-z0-9]+?)(receiver|processor|exporter) /.exec(m.gomod)![1]).sort();
    expect(modules('receivers')).toEqual(['k8sobjects']);
    expect(modules('processors')).toEqual(['batch', 'resource']);
    expect(modules('exporters')).toEqual(['otlphttp']);
    for (const m of ['receivers', 'processors', 'exporters', 'providers'].flatMap((k) => builder[k]!))
      expect(m.gomod).toMatch(/ v(0\.152\.0|1\.58\.0)$/);
  });

  it('watches Events with their initial state and keeps the watch type', () => {
    const r = cfg.receivers[pipelines[0]![1].receivers[0]!]!;
    expect(r.auth_type).toBe('serviceAccount');
    // A receiver-level setting in v0.152.0 (config.go: Config.IncludeInitialState), valid in watch mode only.
    expect(r.include_initial_state).toBe(true);
    const objects = r.objects as { name: string; mode: string; exclude_watch_type?: string[] }[];
    expect(objects.map((o) => [o.name, o.mode])).toEqual([['events', 'watch']]);
    // ADDED and MODIFIED (an aggregated Event's count growing) must reach pullwatch.
    expect(objects[0]!.exclude_watch_type ?? []).not.toContain('ADDED');
    expect(objects[0]!.exclude_watch_type ?? []).not.toContain('MODIFIED');
    // No processor rewrites the log body (the watch event {type, object} goes as it is).
    expect(Object.keys(cfg.processors).map(typeOf).sort()).toEqual(['batch', 'resource']);
  });

  it('sets k8s.cluster.name and sends to /v1/logs with the ingest token', () => {
    const p = pipelines[0]![1];
    const resource = cfg.processors[p.processors![0]!] as {
      attributes: { key: string; value: string; action: string }[];
    };
    expect(resource.attributes).toEqual([{ key: 'k8s.cluster.name', value: CLUSTER, action: 'upsert' }]);
    const exporter = cfg.exporters[p.exporters[0]!] as {
      logs_endpoint: string;
      headers: Record<string, string>;
      retry_on_failure: { enabled: boolean };
    };
    expect(exporter.logs_endpoint).toBe(`${INGEST}/v1/logs`);
    expect(exporter.headers).toEqual({ Authorization: `Bearer ${TOKEN}` });
    expect(exporter.retry_on_failure.enabled).toBe(true);
  });

  it('the README warns about the initial state and 410 Gone, and recommends pullwatch’s own watcher', () => {
    expect(README).toContain('include_initial_state: true');
    expect(README).toMatch(/410/);
    expect(README).toMatch(/pullwatch's own watcher|pullwatch’s own watcher/);
  });
});

describe('infra/otel-collector: what the pipeline sends is accepted by the real collector', () => {
  const logger = createLogger('otel-test', 'silent');
  const kafka = { brokers: testEndpoints().kafka.brokers, clientId: 'otel-test', logger };
  const topic = uniqueName('otel_it');
  const INGEST_TOKEN = 'otel-ingest-token';
  let collector: Collector;

  beforeAll(async () => {
    collector = createCollector(
      loadCollectorConfig({
        PULLWATCH_INGEST_PORT: '0',
        PULLWATCH_TOPIC: topic,
        PULLWATCH_TOPIC_PARTITIONS: '1',
        PULLWATCH_INGEST_TOKEN: INGEST_TOKEN,
      }),
      { logger, metrics: createMetricsRegistry('otel-test'), kafka },
    );
    await collector.start();
  });
  afterAll(async () => {
    await collector.stop();
  });

  /**
   * An Event as the API server serves it, wrapped as the receiver's watch-mode log body
   * (unstructured_to_logdata.go).
   */
  const watchRecord = (type: string, name: string, count: number) => {
    const kv = (o: Record<string, unknown>): unknown => ({
      kvlistValue: {
        values: Object.entries(o).map(([key, v]) => ({
          key,
          value:
            typeof v === 'string'
              ? { stringValue: v }
              : typeof v === 'number'
                ? { intValue: String(v) }
                : Array.isArray(v)
                  ? { arrayValue: { values: v.map((x) => kv(x as Record<string, unknown>)) } }
                  : kv(v as Record<string, unknown>),
        })),
      },
    });
    const img = 'ghcr.io/acme/api:9.9.9';
    return {
      observedTimeUnixNano: String(Date.now() * 1_000_000),
      attributes: [
        { key: 'event.domain', value: { stringValue: 'k8s' } },
        { key: 'event.name', value: { stringValue: name } },
      ],
      body: kv({
        type,
        object: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: String(100 + count) },
          involvedObject: { kind: 'Pod', name: 'api-1', namespace: 'shop', fieldPath: 'spec.containers{api}' },
          reason: 'Failed',
          message:
            `Failed to pull image "${img}": rpc error: code = NotFound desc = failed to resolve ` +
            `reference "${img}": not found`,
          type: 'Warning',
          count,
          firstTimestamp: '2026-11-30T10:00:00Z',
          lastTimestamp: `2026-11-30T10:0${count}:00Z`,
          source: { component: 'kubelet', host: 'node-a' },
        },
      }),
    };
  };

  it(
    'takes the receiver’s watch events, gzip-compressed ' + 'protobuf with the token, for the configured cluster',
    async () => {
      const request = {
        resourceLogs: [
          {
            // What resource/cluster sets from PULLWATCH_CLUSTER.
            resource: { attributes: [{ key: 'k8s.cluster.name', value: { stringValue: 'otel-eu-1' } }] },
            scopeLogs: [
              {
                scope: {
                  name: 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8sobjectsreceiver',
                },
                logRecords: [watchRecord('ADDED', 'api-1.1', 1), watchRecord('MODIFIED', 'api-1.1', 2)],
              },
            ],
          },
        ],
      };
      // otlphttp's defaults: protobuf, gzip; the configured Authorization header.
      const res = await fetch(`${collector.ingestUrl}/v1/logs`, {
        method: 'POST',
        body: gzipSync(Buffer.from(encodeOtlpLogsProtobuf(request))),
        headers: {
          'content-type': 'application/x-protobuf',
          'content-encoding': 'gzip',
          authorization: `Bearer ${INGEST_TOKEN}`,
        },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/protobuf/);

      const got = (await readTopic(kafka, topic, { count: 2 })).map((m) =>
        EnvelopeSchema.parse(JSON.parse(m.value!.toString())),
      );
      expect(got.map((e) => [e.cluster, e.source, e.kind])).toEqual([
        ['otel-eu-1', 'otlp', 'event'],
        ['otel-eu-1', 'otlp', 'event'],
      ]);
      expect(got.map((e) => (e.kind === 'event' ? e.event.count : null))).toEqual([1, 2]);
    },
  );
});
