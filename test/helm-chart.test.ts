import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { grantsOf, type PolicyRule, readGrants } from './support/rbac.ts';

// The Helm chart infra/helm/pullwatch, rendered by a real helm (v3.22, installed by .ci/run with
// `go install` into .pullwatch/bin) and every object checked against the Kubernetes API schemas.
const repo = join(import.meta.dirname, '..');
const chart = join(repo, 'infra/helm/pullwatch');
const scratch = mkdtempSync(join(tmpdir(), 'pullwatch-chart-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function findHelm(): string {
  const gopath = process.env.GOPATH ?? join(homedir(), 'go');
  const candidates = [process.env.PULLWATCH_HELM, join(repo, '.pullwatch/bin/helm'), join(gopath, 'bin/helm')];
  for (const c of candidates) if (c && existsSync(c)) return c;
  if (spawnSync('helm', ['version'], { encoding: 'utf8' }).status === 0) return 'helm';
  throw new Error(
    'helm not found: go install helm.sh/helm/v3/cmd/helm@v3.22.0 with GOBIN=.pullwatch/bin (.ci/run does it)',
  );
}
const helmBin = findHelm();

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(helmBin, args, { cwd: chart, encoding: 'utf8' });
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered objects are checked against the API schemas, not typed here
  [k: string]: any;
}
interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  securityContext?: unknown;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  readinessProbe?: { httpGet?: { path: string; port: string } };
  volumeMounts?: { name: string; mountPath: string }[];
  ports?: { name: string; containerPort: number; protocol: string }[];
}

// Helm built from source reports Kubernetes 1.20 unless told; the chart needs ≥ 1.25.
const KUBE = ['--kube-version', '1.33.0'];

function render(values: string[], extra: string[] = []): K8sObject[] {
  const r = helm([
    'template',
    'pw',
    '.',
    '--namespace',
    'pullwatch',
    ...KUBE,
    ...values.flatMap((v) => ['-f', v]),
    ...extra,
  ]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function renderError(values: Record<string, unknown>, extra: string[] = []): string {
  const file = join(scratch, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, JSON.stringify(values));
  const r = helm(['template', 'pw', '.', ...KUBE, '-f', file, ...extra]);
  expect(r.status, r.stdout).not.toBe(0);
  return r.stderr;
}

const ci = (name: string) => join(chart, 'ci', name);
const ciFiles = readdirSync(join(chart, 'ci')).filter((f) => f.endsWith('.yaml'));
const rendered = Object.fromEntries(ciFiles.map((f) => [f, render([ci(f)])])) as Record<string, K8sObject[]>;
const central = rendered['default-values.yaml']!;
const agent = rendered['agent-values.yaml']!;
const production = rendered['production-values.yaml']!;

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
};
const podSpec = (o: K8sObject) => o.spec.template.spec as { containers: Container[]; [k: string]: unknown };
const workloads = (objs: K8sObject[]) => objs.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
const containerOf = (objs: K8sObject[], name: string) => podSpec(named(objs, 'Deployment', name)).containers[0]!;
const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));

/** The Kubernetes API model of an object (kubernetes-models, or its prometheus-operator CRDs). */
async function model(o: K8sObject): Promise<{ validate(): void }> {
  const path = o.apiVersion.includes('/') ? o.apiVersion : `v1`;
  const mod = (await import(
    o.apiVersion.startsWith('monitoring.coreos.com/')
      ? `@kubernetes-models/prometheus-operator/${path}`
      : `kubernetes-models/${path}`
  )) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = mod[o.kind];
  if (!Model) throw new Error(`no model for ${o.apiVersion} ${o.kind}`);
  return new Model(o);
}

// Each case runs helm (a Go binary) several times: seconds each on a busy 2-core machine.
describe('helm chart infra/helm/pullwatch', { timeout: 60_000 }, () => {
  it('passes helm lint --strict with every ci values file', () => {
    expect(ciFiles.sort()).toEqual(['agent-values.yaml', 'default-values.yaml', 'production-values.yaml']);
    for (const f of ciFiles) {
      const r = helm(['lint', '--strict', '.', ...KUBE, '-f', ci(f)]);
      expect(r.stdout, f).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(r.status, f).toBe(0);
    }
  });

  it('renders what each install needs, each object valid against the Kubernetes API schemas', async () => {
    const kinds = (objs: K8sObject[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds(central)).toEqual([
      'ClusterRole/pw-pullwatch-pullwatch-collector',
      'ClusterRoleBinding/pw-pullwatch-pullwatch-collector',
      'ConfigMap/pw-pullwatch',
      'Deployment/pw-pullwatch-analyzer',
      'Deployment/pw-pullwatch-collector',
      'Deployment/pw-pullwatch-query-api',
      'Job/pw-pullwatch-migrate',
      'PodDisruptionBudget/pw-pullwatch-analyzer',
      'Service/pw-pullwatch-analyzer',
      'Service/pw-pullwatch-collector',
      'Service/pw-pullwatch-query-api',
      'ServiceAccount/pw-pullwatch',
      'ServiceAccount/pw-pullwatch-collector',
    ]);
    expect(kinds(agent)).toEqual([
      'ClusterRole/pw-pullwatch-pullwatch-collector',
      'ClusterRoleBinding/pw-pullwatch-pullwatch-collector',
      'ConfigMap/pw-pullwatch',
      'Deployment/pw-pullwatch-collector',
      'Service/pw-pullwatch-collector',
      'ServiceAccount/pw-pullwatch-collector',
    ]);
    // Production: an ingest-only collector (no RBAC), an Ingress, ServiceMonitors, alert rules, dashboards,
    // NetworkPolicies.
    expect(kinds(production)).toEqual([
      'ConfigMap/pw-pullwatch',
      'ConfigMap/pw-pullwatch-grafana-dashboards',
      'Deployment/pw-pullwatch-analyzer',
      'Deployment/pw-pullwatch-collector',
      'Deployment/pw-pullwatch-query-api',
      'Ingress/pw-pullwatch-query-api',
      'Job/pw-pullwatch-migrate',
      'NetworkPolicy/pw-pullwatch-analyzer',
      'NetworkPolicy/pw-pullwatch-collector',
      'NetworkPolicy/pw-pullwatch-query-api',
      'PodDisruptionBudget/pw-pullwatch-analyzer',
      'PrometheusRule/pw-pullwatch',
      'Service/pw-pullwatch-analyzer',
      'Service/pw-pullwatch-collector',
      'Service/pw-pullwatch-query-api',
      'ServiceAccount/pw-pullwatch',
      'ServiceAccount/pw-pullwatch-collector',
      'ServiceMonitor/pw-pullwatch-analyzer',
      'ServiceMonitor/pw-pullwatch-collector',
      'ServiceMonitor/pw-pullwatch-query-api',
    ]);
    let validated = 0;
    for (const [file, objs] of Object.entries(rendered))
      for (const o of objs) {
        const m = await model(o);
        expect(() => m.validate(), `${file}: ${o.kind} ${o.metadata.name}`).not.toThrow();
        validated++;
      }
    expect(validated).toBe(central.length + agent.length + production.length);
  });

  it('labels every object and pod with name, instance, component, version and chart', () => {
    for (const [file, objs] of Object.entries(rendered))
      for (const o of objs) {
        const labelSets = [o.metadata.labels, ...(o.spec?.template ? [o.spec.template.metadata.labels] : [])];
        for (const labels of labelSets)
          expect(labels, `${file}: ${o.kind} ${o.metadata.name}`).toMatchObject({
            'app.kubernetes.io/name': 'pullwatch',
            'app.kubernetes.io/instance': 'pw',
            'app.kubernetes.io/component': expect.stringMatching(/^[a-z-]+$/),
            'app.kubernetes.io/version': '0.1.0',
            'helm.sh/chart': 'pullwatch-0.1.0',
          });
      }
    expect(production.every((o) => o.metadata.labels?.team === 'platform')).toBe(true);
  });

  it('grants the collector exactly get/list/watch on events (core and events.k8s.io) and pods', () => {
    for (const objs of [central, agent]) {
      const [role] = byKind(objs, 'ClusterRole');
      expect(grantsOf(role!.rules as PolicyRule[])).toEqual(
        readGrants('core/events', 'core/pods', 'events.k8s.io/events'),
      );
      const [binding] = byKind(objs, 'ClusterRoleBinding');
      expect(binding!.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: role!.metadata.name,
      });
      expect(binding!.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'pw-pullwatch-collector', namespace: 'pullwatch' },
      ]);
      expect(podSpec(named(objs, 'Deployment', 'pw-pullwatch-collector')).serviceAccountName).toBe(
        'pw-pullwatch-collector',
      );
    }
    // Only the watching collector gets an API token; nothing else talks to the Kubernetes API.
    for (const objs of Object.values(rendered))
      for (const w of workloads(objs)) {
        const watching = w.metadata.name === 'pw-pullwatch-collector' && objs !== production;
        expect(podSpec(w).automountServiceAccountToken, w.metadata.name).toBe(watching);
      }
    expect(byKind(production, 'ServiceAccount').map((s) => s.automountServiceAccountToken)).toEqual([false, false]);
  });

  it('grants get/list/watch on namespaces, and passes the label, only when a team label is set', () => {
    const granted = (objs: K8sObject[]) => grantsOf(byKind(objs, 'ClusterRole')[0]!.rules as PolicyRule[]);
    const withTeams = render([ci('default-values.yaml')], ['--set', 'collector.teamLabel=example.com/team']);
    expect(granted(withTeams)).toEqual(
      readGrants('core/events', 'core/namespaces', 'core/pods', 'events.k8s.io/events'),
    );
    expect(envOf(containerOf(withTeams, 'pw-pullwatch-collector')).PULLWATCH_TEAM_LABEL).toBe('example.com/team');
    expect(granted(central)).not.toContain('core/namespaces:list');
    expect(envOf(containerOf(central, 'pw-pullwatch-collector'))).not.toHaveProperty('PULLWATCH_TEAM_LABEL');
    expect(renderError({ collector: { teamLabel: 'not a label!' } })).toMatch(/teamLabel/);
  });

  it('gives the query API the team mapping of queryApi.teams as PULLWATCH_TEAMS_FILE, and none by default', () => {
    const file = join(scratch, 'teams-values.yaml');
    writeFileSync(
      file,
      'queryApi:\n  teams:\n    namespaces: { shop: web-team }\n    clusters: { prod-eu: { shop: eu-web-team } }\n',
    );
    const objs = render([ci('default-values.yaml'), file]);
    const api = named(objs, 'Deployment', 'pw-pullwatch-query-api');
    const c = containerOf(objs, 'pw-pullwatch-query-api');
    expect(envOf(c).PULLWATCH_TEAMS_FILE).toBe('/etc/pullwatch/teams/teams.yaml');
    expect(c.volumeMounts).toContainEqual({ name: 'teams', mountPath: '/etc/pullwatch/teams', readOnly: true });
    expect(podSpec(api).volumes).toContainEqual({ name: 'teams', configMap: { name: 'pw-pullwatch-teams' } });
    const cm = named(objs, 'ConfigMap', 'pw-pullwatch-teams');
    // The file the query API reads (teams/file.ts), exactly as given.
    expect(parseYaml(String((cm.data as Record<string, string>)['teams.yaml']))).toEqual({
      namespaces: { shop: 'web-team' },
      clusters: { 'prod-eu': { shop: 'eu-web-team' } },
    });
    expect(
      (api.spec.template.metadata as { annotations: Record<string, string> }).annotations['checksum/teams'],
    ).toMatch(/^[0-9a-f]{64}$/);
    expect(envOf(containerOf(central, 'pw-pullwatch-query-api'))).not.toHaveProperty('PULLWATCH_TEAMS_FILE');
    expect(byKind(central, 'ConfigMap').map((o) => o.metadata.name)).not.toContain('pw-pullwatch-teams');
    expect(renderError({ queryApi: { teams: { namespace: { shop: 'x' } } } })).toMatch(/teams/);
  });

  it('runs every container non-root, read-only, without privileges, with resources and probes', () => {
    for (const [file, objs] of Object.entries(rendered))
      for (const w of workloads(objs)) {
        const spec = podSpec(w);
        const where = `${file}: ${w.metadata.name}`;
        expect(spec.securityContext, where).toEqual({
          runAsNonRoot: true,
          runAsUser: 10001,
          runAsGroup: 10001,
          fsGroup: 10001,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(spec.initContainers, where).toBeUndefined();
        expect(spec.volumes, where).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
        for (const c of spec.containers) {
          expect(c.securityContext, where).toEqual({
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            privileged: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          });
          expect(c.volumeMounts, where).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
          expect(Object.keys(c.resources?.requests ?? {}).sort(), where).toEqual(['cpu', 'memory']);
          expect(Object.keys(c.resources?.limits ?? {}).sort(), where).toEqual(['cpu', 'memory']);
          if (w.kind !== 'Deployment') continue;
          expect(c.livenessProbe?.httpGet?.path, where).toBe('/healthz');
          expect(c.readinessProbe?.httpGet?.path, where).toBe('/readyz');
        }
      }
    expect(containerOf(central, 'pw-pullwatch-collector').resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    });
  });

  it('takes every credential from a Secret: none in a ConfigMap, none in a plain env value, no Secret rendered', () => {
    const credential = /PASSWORD|USERNAME|_USER$|TOKENS?$|WEBHOOKS|SECRET/;
    for (const [file, objs] of Object.entries(rendered)) {
      expect(byKind(objs, 'Secret'), file).toEqual([]);
      for (const cm of byKind(objs, 'ConfigMap'))
        expect(
          Object.keys(cm.data).filter((k) => credential.test(k)),
          file,
        ).toEqual([]);
      for (const w of workloads(objs))
        for (const c of podSpec(w).containers)
          for (const e of c.env ?? [])
            if (credential.test(e.name))
              expect(e.valueFrom?.secretKeyRef, `${file}: ${w.metadata.name} ${e.name}`).toBeDefined();
    }
    // A credential put into the values is refused, not rendered.
    expect(renderError({ clickhouse: { password: 'hunter2' } })).toContain(
      "- at '/clickhouse': additional properties 'password' not allowed",
    );
    expect(renderError({ kafka: { sasl: { password: 'hunter2' } } })).toContain(
      "- at '/kafka/sasl': additional properties 'password' not allowed",
    );
  });

  it('wires Kafka TLS/SASL and ClickHouse HTTPS, users and tokens to the services from Secrets', () => {
    const cm = named(production, 'ConfigMap', 'pw-pullwatch');
    expect(cm.data).toEqual({
      PULLWATCH_ENGINES: 'external',
      PULLWATCH_LOG_LEVEL: 'info',
      PULLWATCH_KAFKA_BROKERS: 'kafka-0.kafka:9094,kafka-1.kafka:9094,kafka-2.kafka:9094',
      PULLWATCH_TOPIC: 'k8s.events.v1',
      PULLWATCH_DLQ_TOPIC: 'k8s.events.dlq.v1',
      PULLWATCH_TOPIC_PARTITIONS: '12',
      PULLWATCH_CLICKHOUSE_URL: 'https://clickhouse.data.svc:8443',
      PULLWATCH_CLICKHOUSE_DATABASE: 'pullwatch',
      PULLWATCH_CLICKHOUSE_CLUSTER: 'pullwatch',
      PULLWATCH_TTL_DAYS: '90',
      PULLWATCH_KAFKA_SSL: 'true',
      PULLWATCH_KAFKA_SSL_CA_FILE: '/etc/pullwatch/kafka-ca/ca.crt',
      PULLWATCH_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      PULLWATCH_CLICKHOUSE_CA_FILE: '/etc/pullwatch/clickhouse-ca/ca.crt',
    });
    const ref = (name: string, key: string) => ({ secretKeyRef: { name, key } });
    const sasl = {
      PULLWATCH_KAFKA_SASL_USERNAME: ref('pullwatch-kafka-sasl', 'username'),
      PULLWATCH_KAFKA_SASL_PASSWORD: ref('pullwatch-kafka-sasl', 'password'),
    };
    const writer = {
      PULLWATCH_CLICKHOUSE_USER: ref('pullwatch-clickhouse', 'username'),
      PULLWATCH_CLICKHOUSE_PASSWORD: ref('pullwatch-clickhouse', 'password'),
    };
    const collector = containerOf(production, 'pw-pullwatch-collector');
    const analyzer = containerOf(production, 'pw-pullwatch-analyzer');
    const api = containerOf(production, 'pw-pullwatch-query-api');
    expect(envOf(collector)).toEqual({
      PULLWATCH_INGEST_HOST: '0.0.0.0',
      PULLWATCH_INGEST_PORT: '4318',
      PULLWATCH_ALL_EVENTS: 'false',
      NODE_OPTIONS: '--max-old-space-size=384',
      PULLWATCH_INGEST_TOKENS_FILE: '/etc/pullwatch/ingest-tokens/tokens',
      ...sasl,
    });
    expect(envOf(analyzer)).toEqual({
      PULLWATCH_ANALYZER_METRICS_HOST: '0.0.0.0',
      PULLWATCH_ANALYZER_METRICS_PORT: '9464',
      PULLWATCH_ANALYZER_GROUP: 'pw-pullwatch-analyzer',
      NODE_OPTIONS: '--max-old-space-size=576',
      MALLOC_MMAP_THRESHOLD_: '65536',
      ...sasl,
      ...writer,
    });
    // The query API reads with the read-only user; it needs no Kafka.
    expect(envOf(api)).toEqual({
      PULLWATCH_API_HOST: '0.0.0.0',
      PULLWATCH_API_PORT: '8080',
      PULLWATCH_API_TOKENS_FILE: '/etc/pullwatch/api-tokens/tokens',
      NODE_OPTIONS: '--max-old-space-size=384',
      PULLWATCH_ALERT_WEBHOOKS: ref('pullwatch-alert-webhooks', 'webhooks'),
      ...writer,
      PULLWATCH_CLICKHOUSE_RO_USER: ref('pullwatch-clickhouse', 'ro-username'),
      PULLWATCH_CLICKHOUSE_RO_PASSWORD: ref('pullwatch-clickhouse', 'ro-password'),
    });
    for (const name of ['pw-pullwatch-collector', 'pw-pullwatch-analyzer', 'pw-pullwatch-query-api']) {
      const d = named(production, 'Deployment', name);
      expect(podSpec(d).containers[0]!.envFrom).toEqual([{ configMapRef: { name: 'pw-pullwatch' } }]);
      expect(podSpec(d).volumes).toEqual(
        expect.arrayContaining([
          {
            name: 'kafka-ca',
            secret: {
              secretName: 'pullwatch-kafka-ca',
              items: [{ key: 'ca.crt', path: 'ca.crt' }],
              defaultMode: 0o440,
            },
          },
          {
            name: 'clickhouse-ca',
            secret: {
              secretName: 'pullwatch-clickhouse-ca',
              items: [{ key: 'ca.crt', path: 'ca.crt' }],
              defaultMode: 0o440,
            },
          },
        ]),
      );
    }
    expect(podSpec(named(production, 'Deployment', 'pw-pullwatch-query-api')).volumes).toContainEqual({
      name: 'api-tokens',
      secret: { secretName: 'pullwatch-api-tokens', items: [{ key: 'tokens', path: 'tokens' }], defaultMode: 0o440 },
    });
  });

  it('gives a Kafka client certificate (mTLS) to the collector and the analyzer only', () => {
    const objs = render([ci('production-values.yaml')], ['--set', 'kafka.tls.clientSecret=pullwatch-kafka-client']);
    const files = {
      PULLWATCH_KAFKA_SSL_CERT_FILE: '/etc/pullwatch/kafka-client/tls.crt',
      PULLWATCH_KAFKA_SSL_KEY_FILE: '/etc/pullwatch/kafka-client/tls.key',
    };
    const volume = {
      name: 'kafka-client',
      secret: {
        secretName: 'pullwatch-kafka-client',
        items: [
          { key: 'tls.crt', path: 'tls.crt' },
          { key: 'tls.key', path: 'tls.key' },
        ],
        defaultMode: 0o440,
      },
    };
    const mount = { name: 'kafka-client', mountPath: '/etc/pullwatch/kafka-client', readOnly: true };
    for (const name of ['pw-pullwatch-collector', 'pw-pullwatch-analyzer']) {
      const c = containerOf(objs, name);
      expect(envOf(c), name).toMatchObject(files);
      expect(c.volumeMounts, name).toContainEqual(mount);
      expect(podSpec(named(objs, 'Deployment', name)).volumes, name).toContainEqual(volume);
    }
    const api = containerOf(objs, 'pw-pullwatch-query-api');
    expect(Object.keys(envOf(api)).filter((k) => k.startsWith('PULLWATCH_KAFKA_SSL'))).toEqual([]);
    expect(api.volumeMounts!.map((m) => m.name)).not.toContain('kafka-client');
    // Not in the ConfigMap every service reads; without the option nothing changes.
    expect(Object.keys(byKind(objs, 'ConfigMap')[0]!.data)).not.toContain('PULLWATCH_KAFKA_SSL_CERT_FILE');
    expect(envOf(containerOf(production, 'pw-pullwatch-collector'))).not.toHaveProperty(
      'PULLWATCH_KAFKA_SSL_CERT_FILE',
    );
  });

  it('installs an agent: the collector alone, watching its cluster, sending to the central Kafka', () => {
    const c = containerOf(agent, 'pw-pullwatch-collector');
    expect(c.args).toEqual(['collector']);
    expect(envOf(c)).toMatchObject({ PULLWATCH_IN_CLUSTER: 'true', PULLWATCH_CLUSTER: 'prod-eu-west' });
    expect(byKind(agent, 'ConfigMap')[0]!.data.PULLWATCH_KAFKA_BROKERS).toBe(
      'kafka-0.kafka.example.net:9094,kafka-1.kafka.example.net:9094,kafka-2.kafka.example.net:9094',
    );
    const d = named(agent, 'Deployment', 'pw-pullwatch-collector');
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
    // The same from --set alone, as docs/deploy.md shows it.
    const bySet = render(
      [],
      ['--set', 'analyzer.enabled=false,queryApi.enabled=false,clusterName=prod-us,kafka.brokers={kafka-0.kafka:9092}'],
    );
    expect(bySet.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Deployment',
      'Service',
      'ServiceAccount',
    ]);
    expect(envOf(containerOf(bySet, 'pw-pullwatch-collector'))).toMatchObject({ PULLWATCH_CLUSTER: 'prod-us' });
    // The collector uses no ClickHouse, but PULLWATCH_ENGINES=external wants a URL: a placeholder.
    expect(byKind(bySet, 'ConfigMap')[0]!.data.PULLWATCH_CLICKHOUSE_URL).toBe('http://clickhouse.invalid:8123');
  });

  it('runs the migrations as a pre-install/pre-upgrade hook and keeps the analyzer within the partitions', () => {
    const [job] = byKind(central, 'Job');
    expect(job!.metadata.annotations).toEqual({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '0',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    expect(podSpec(job!).containers[0]!.args).toEqual(['migrate']);
    // A hook runs before the ConfigMap exists: its settings are inline.
    expect(podSpec(job!).containers[0]!.envFrom).toBeUndefined();
    expect(envOf(podSpec(job!).containers[0]!)).toMatchObject({
      PULLWATCH_CLICKHOUSE_URL: 'http://clickhouse:8123',
      PULLWATCH_CLICKHOUSE_DATABASE: 'pullwatch',
    });
    expect(named(production, 'Deployment', 'pw-pullwatch-analyzer').spec.replicas).toBe(3);
    expect(byKind(production, 'PodDisruptionBudget')[0]!.spec).toEqual({
      maxUnavailable: 1,
      selector: {
        matchLabels: {
          'app.kubernetes.io/name': 'pullwatch',
          'app.kubernetes.io/instance': 'pw',
          'app.kubernetes.io/component': 'analyzer',
        },
      },
    });
    expect(renderError({}, ['-f', ci('production-values.yaml'), '--set', 'analyzer.replicas=13'])).toContain(
      'pullwatch: analyzer.replicas (13) must not exceed kafka.partitions (12)',
    );
  });

  it('mounts every Secret readable by the pod alone: mode 0440, group the pods fsGroup, never world-readable', () => {
    const seen: string[] = [];
    for (const [file, objs] of Object.entries(rendered))
      for (const w of workloads(objs)) {
        const spec = podSpec(w) as { volumes?: { name: string; secret?: Record<string, unknown> }[] } & {
          securityContext?: { fsGroup?: number };
        };
        for (const v of spec.volumes ?? []) {
          if (!v.secret) continue;
          seen.push(`${file}: ${w.metadata.name}/${v.name}`);
          expect(v.secret.defaultMode, `${file}: ${w.metadata.name} ${v.name}`).toBe(0o440);
          // No item may widen it again.
          for (const item of v.secret.items as { mode?: number }[]) expect(item.mode).toBeUndefined();
          expect(spec.securityContext?.fsGroup).toBe(10001);
        }
      }
    expect(seen.sort()).toEqual([
      'agent-values.yaml: pw-pullwatch-collector/ingest-tokens',
      'agent-values.yaml: pw-pullwatch-collector/kafka-ca',
      'default-values.yaml: pw-pullwatch-query-api/api-tokens',
      'production-values.yaml: pw-pullwatch-analyzer/clickhouse-ca',
      'production-values.yaml: pw-pullwatch-analyzer/kafka-ca',
      'production-values.yaml: pw-pullwatch-collector/clickhouse-ca',
      'production-values.yaml: pw-pullwatch-collector/ingest-tokens',
      'production-values.yaml: pw-pullwatch-collector/kafka-ca',
      'production-values.yaml: pw-pullwatch-migrate/clickhouse-ca',
      'production-values.yaml: pw-pullwatch-migrate/kafka-ca',
      'production-values.yaml: pw-pullwatch-query-api/api-tokens',
      'production-values.yaml: pw-pullwatch-query-api/clickhouse-ca',
      'production-values.yaml: pw-pullwatch-query-api/kafka-ca',
    ]);
  });

  it('admits, with networkPolicy.enabled, ingest from the senders, the API from the ingress, metrics from monitoring', () => {
    const policy = (objs: K8sObject[], component: string) => {
      const p = named(objs, 'NetworkPolicy', `pw-pullwatch-${component}`);
      expect(p.metadata.labels?.['app.kubernetes.io/component']).toBe(component);
      return p.spec;
    };
    const pods = (component: string) => ({
      matchLabels: {
        'app.kubernetes.io/name': 'pullwatch',
        'app.kubernetes.io/instance': 'pw',
        'app.kubernetes.io/component': component,
      },
    });
    const ns = (name: string, app?: string) => ({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
      ...(app ? { podSelector: { matchLabels: { 'app.kubernetes.io/name': app } } } : {}),
    });
    const prometheus = ns('monitoring', 'prometheus');
    expect(policy(production, 'collector')).toEqual({
      podSelector: pods('collector'),
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            ns('otel', 'opentelemetry-collector'),
            { ipBlock: { cidr: '10.20.0.0/16', except: ['10.20.99.0/24'] } },
          ],
          ports: [{ port: 'ingest', protocol: 'TCP' }],
        },
        { from: [prometheus], ports: [{ port: 'ingest', protocol: 'TCP' }] },
      ],
    });
    expect(policy(production, 'analyzer')).toEqual({
      podSelector: pods('analyzer'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [prometheus], ports: [{ port: 'metrics', protocol: 'TCP' }] }],
    });
    expect(policy(production, 'query-api')).toEqual({
      podSelector: pods('query-api'),
      policyTypes: ['Ingress'],
      ingress: [
        { from: [ns('ingress-nginx', 'ingress-nginx')], ports: [{ port: 'http', protocol: 'TCP' }] },
        { from: [prometheus], ports: [{ port: 'http', protocol: 'TCP' }] },
      ],
    });
    // The named ports are the containers' own.
    expect(containerOf(production, 'pw-pullwatch-collector').ports).toEqual([
      { name: 'ingest', containerPort: 4318, protocol: 'TCP' },
    ]);
    expect(containerOf(production, 'pw-pullwatch-analyzer').ports).toEqual([
      { name: 'metrics', containerPort: 9464, protocol: 'TCP' },
    ]);
    expect(containerOf(production, 'pw-pullwatch-query-api').ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
    ]);

    // The defaults: nobody may send to ingest, the ingress-nginx and monitoring namespaces reach the rest.
    const defaults = render([ci('default-values.yaml')], ['--set', 'networkPolicy.enabled=true']);
    expect(byKind(defaults, 'NetworkPolicy').map((p) => p.metadata.name)).toEqual([
      'pw-pullwatch-collector',
      'pw-pullwatch-analyzer',
      'pw-pullwatch-query-api',
    ]);
    expect(policy(defaults, 'collector').ingress).toEqual([
      { from: [ns('monitoring')], ports: [{ port: 'ingest', protocol: 'TCP' }] },
    ]);
    expect(policy(defaults, 'query-api').ingress).toEqual([
      { from: [ns('ingress-nginx')], ports: [{ port: 'http', protocol: 'TCP' }] },
      { from: [ns('monitoring')], ports: [{ port: 'http', protocol: 'TCP' }] },
    ]);
    // Every list empty: each policy admits nothing at all.
    const closed = render(
      [ci('agent-values.yaml')],
      ['--set', 'networkPolicy.enabled=true', '--set-json', 'networkPolicy.metricsFrom=[]'],
    );
    expect(byKind(closed, 'NetworkPolicy').map((p) => [p.metadata.name, p.spec.ingress])).toEqual([
      ['pw-pullwatch-collector', []],
    ]);
    // Off by default.
    for (const objs of [central, agent]) expect(byKind(objs, 'NetworkPolicy')).toEqual([]);
    // A peer that is not a NetworkPolicyPeer is refused.
    const bad = renderError(
      { networkPolicy: { enabled: true, apiFrom: [{ namespace: 'ingress-nginx' }], ingestFrom: [{}] } },
      ['-f', ci('default-values.yaml')],
    );
    expect(bad).toContain("- at '/networkPolicy/apiFrom/0': additional properties 'namespace' not allowed");
    expect(bad).toContain("- at '/networkPolicy/ingestFrom/0': minProperties: got 0, want 1");
  });

  it('fails bad values with a message naming the value', () => {
    expect(renderError({})).toContain('pullwatch: kafka.brokers is required by the collector and the analyzer');
    const schema = renderError({
      collector: { mode: 'watcher', replicas: 'one' },
      kafka: { partitions: 0, brokers: ['kafka'], sasl: { mechanism: 'GSSAPI' } },
      clickhouse: { url: 'clickhouse:8123' },
      clusterName: 'prod eu',
    });
    for (const line of [
      "- at '/clusterName': 'prod eu' does not match pattern '^$|^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'",
      "- at '/kafka/brokers/0': 'kafka' does not match pattern '^[A-Za-z0-9.-]+:[0-9]{1,5}$'",
      "- at '/kafka/partitions': minimum: got 0, want 1",
      "- at '/kafka/sasl/mechanism': value must be one of '', 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'",
      "- at '/clickhouse/url': 'clickhouse:8123' does not match pattern '^$|^https?://[^\\\\s/]+(/.*)?$'",
      "- at '/collector/replicas': got string, want integer",
      "- at '/collector/mode': value must be one of 'watch', 'ingest-only'",
    ])
      expect(schema).toContain(line);
    const base = ['-f', ci('default-values.yaml')];
    expect(renderError({}, [...base, '--set', 'collector.replicas=2'])).toContain(
      'pullwatch: collector.replicas must be 1 when collector.mode is watch',
    );
    expect(renderError({}, [...base, '--set', 'clusterName='])).toContain(
      'pullwatch: clusterName is required when collector.mode is watch',
    );
    expect(renderError({}, [...base, '--set', 'queryApi.tokensSecret='])).toContain(
      'pullwatch: queryApi.tokensSecret is required',
    );
    expect(renderError({}, [...base, '--set', 'collector.mode=ingest-only'])).toContain(
      'pullwatch: collector.ingest.tokensSecret is required when collector.mode is ingest-only',
    );
    expect(renderError({}, [...base, '--set', 'kafka.sasl.mechanism=PLAIN'])).toContain(
      'pullwatch: kafka.sasl.existingSecret is required when kafka.sasl.mechanism is set',
    );
  });

  it('ships the alert rules and Grafana dashboards of infra/ when enabled, and neither by default', () => {
    const rule = named(production, 'PrometheusRule', 'pw-pullwatch') as K8sObject & { spec: unknown };
    const plain = parseAllDocuments(readFileSync(join(repo, 'infra/prometheus/pullwatch-rules.yaml'), 'utf8'))[0]!;
    expect(rule.spec).toEqual(plain.toJS());
    expect(rule.metadata.labels?.release).toBe('kube-prometheus-stack');
    const dashboards = named(production, 'ConfigMap', 'pw-pullwatch-grafana-dashboards');
    expect(dashboards.metadata.labels?.grafana_dashboard).toBe('1');
    expect(Object.keys(dashboards.data ?? {}).sort()).toEqual(['pullwatch-drilldown.json', 'pullwatch-fleet.json']);
    for (const [file, text] of Object.entries(dashboards.data ?? {}))
      expect(JSON.parse(String(text)), file).toEqual(
        JSON.parse(readFileSync(join(repo, 'infra/grafana/dashboards', file), 'utf8')),
      );
    expect(central.some((o) => o.kind === 'PrometheusRule' || o.metadata.name.endsWith('grafana-dashboards'))).toBe(
      false,
    );
  });
});
