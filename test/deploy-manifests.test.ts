import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { grantsOf, type PolicyRule, readGrants } from './support/rbac.ts';

type Doc = {
  kind: string;
  metadata: { name: string };
  rules?: PolicyRule[];
  spec?: Record<string, unknown>;
} & Record<string, unknown>;
const docs = parseAllDocuments(readFileSync(new URL('../infra/k8s/collector.yaml', import.meta.url), 'utf8')).map(
  (d) => d.toJS() as Doc,
);
const byKind = (k: string) => docs.filter((d) => d.kind === k);

describe('infra/k8s collector manifests', () => {
  it('grant only get/list/watch on events, pods and namespaces (for the team label)', () => {
    const [role] = byKind('ClusterRole');
    expect(grantsOf(role!.rules!)).toEqual(
      readGrants('core/events', 'core/namespaces', 'core/pods', 'events.k8s.io/events'),
    );
    expect(JSON.stringify(role)).not.toContain('*');
    const [binding] = byKind('ClusterRoleBinding') as unknown as {
      roleRef: { name: string };
      subjects: { name: string }[];
    }[];
    expect(binding!.roleRef.name).toBe('pullwatch-collector');
    expect(binding!.subjects[0]!.name).toBe(byKind('ServiceAccount')[0]!.metadata.name);
  });

  it('run the collector in-cluster with probes and resource requests', () => {
    const [dep] = byKind('Deployment') as unknown as {
      spec: {
        template: {
          spec: {
            serviceAccountName: string;
            containers: {
              args: string[];
              env: { name: string; value: string }[];
              readinessProbe: { httpGet: { path: string } };
              livenessProbe: { httpGet: { path: string } };
              resources: { requests: Record<string, string> };
            }[];
          };
        };
      };
    }[];
    const pod = dep!.spec.template.spec;
    const c = pod.containers[0]!;
    expect(pod.serviceAccountName).toBe('pullwatch-collector');
    expect(c.args).toEqual(['collector']);
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.fromEntries(c.env.map((e) => [e.name, e.value]))).toMatchObject({
      PULLWATCH_IN_CLUSTER: 'true',
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_TEAM_LABEL: 'team',
    });
  });

  it('give the ingest its tokens from a Secret mounted read-only, shipped without any token', () => {
    const [dep] = byKind('Deployment') as unknown as {
      spec: {
        template: {
          spec: {
            volumes: { name: string; secret?: { secretName: string; defaultMode?: number } }[];
            containers: {
              env: { name: string; value: string }[];
              volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
            }[];
          };
        };
      };
    }[];
    const pod = dep!.spec.template.spec;
    const c = pod.containers[0]!;
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
    expect(env.PULLWATCH_INGEST_TOKENS_FILE).toBe('/etc/pullwatch/ingest/tokens.yaml');
    expect(env.PULLWATCH_INGEST_TOKEN).toBeUndefined();
    expect(env.PULLWATCH_INGEST_AUTH).toBeUndefined();
    expect(c.volumeMounts).toEqual([{ name: 'ingest-tokens', mountPath: '/etc/pullwatch/ingest', readOnly: true }]);
    expect(pod.volumes).toEqual([
      { name: 'ingest-tokens', secret: { secretName: 'pullwatch-ingest-tokens', defaultMode: 0o440 } },
    ]);
    const [secret] = byKind('Secret') as unknown as {
      metadata: { name: string };
      stringData: Record<string, string>;
    }[];
    expect(secret!.metadata.name).toBe('pullwatch-ingest-tokens');
    // No token ships with the manifests: the ingest stays closed until one is added.
    expect(parse(secret!.stringData['tokens.yaml']!)).toEqual([]);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
    services: Record<string, { healthcheck?: unknown; environment?: Record<string, string>; command?: string[] }>;
  };
  it('runs Kafka, ClickHouse and the three services, each with a health check', () => {
    for (const s of ['kafka', 'clickhouse', 'collector', 'analyzer', 'query-api'])
      expect(compose.services[s]?.healthcheck, s).toBeDefined();
    expect(compose.services.collector!.command).toEqual(['collector']);
    expect(compose.services.collector!.environment).toMatchObject({
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_KAFKA_BROKERS: 'kafka:9092',
      PULLWATCH_CLICKHOUSE_URL: 'http://clickhouse:8123',
    });
  });

  it('requires the ingest token from the environment: no default token on a port open to every interface', () => {
    const env = compose.services.collector!.environment!;
    expect(env.PULLWATCH_INGEST_HOST).toBe('0.0.0.0');
    expect(env.PULLWATCH_INGEST_TOKEN).toMatch(/^\$\{PULLWATCH_INGEST_TOKEN:\?[^}]+\}$/);
    expect(env.PULLWATCH_INGEST_AUTH).toBeUndefined();
  });
});
