import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KubeApiServer } from '../support/kube-apiserver.ts';
import { until } from '../support/until.ts';
import { ApiProxy } from './api-proxy.ts';
import {
  createEvent,
  createNamespace,
  createWaitingPod,
  failedPull,
  type Watching,
  watchWithCollector,
} from './harness.ts';

// The Helm chart infra/helm/pullwatch against a real kube-apiserver: every object it renders for the
// central and agent installs is accepted by a server-side dry run (strict field validation), and the
// collector runs with the chart's own ServiceAccount and RBAC.
const repo = join(import.meta.dirname, '../..');
const chart = join(repo, 'infra/helm/pullwatch');
const NS = 'pullwatch';
const TEAM = 'pullwatch.io/team';

function findHelm(): string {
  const gopath = process.env.GOPATH ?? join(homedir(), 'go');
  for (const c of [process.env.PULLWATCH_HELM, join(repo, '.pullwatch/bin/helm'), join(gopath, 'bin/helm')])
    if (c && existsSync(c)) return c;
  if (spawnSync('helm', ['version'], { encoding: 'utf8' }).status === 0) return 'helm';
  throw new Error(
    'helm not found: go install helm.sh/helm/v3/cmd/helm@v3.22.0 with GOBIN=.pullwatch/bin (.ci/run does it)',
  );
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
}

function render(valuesFile: string, set: string[] = []): K8sObject[] {
  const r = spawnSync(
    findHelm(),
    [
      'template',
      'pw',
      '.',
      '--namespace',
      NS,
      '--kube-version',
      '1.37.2',
      '-f',
      join(chart, 'ci', valuesFile),
      ...set.flatMap((s) => ['--set', s]),
    ],
    { cwd: chart, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const api = new KubeApiServer();

/** The API's own discovery: where each apiVersion/kind is served, and whether it is namespaced. */
async function collectionPath(o: K8sObject, namespace: string): Promise<string> {
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const list = await api.ok<{ resources: { name: string; kind: string; namespaced: boolean }[] }>('GET', base);
  const r = list.resources.find((x) => x.kind === o.kind && !x.name.includes('/'));
  if (!r) throw new Error(`the server does not serve ${o.apiVersion} ${o.kind}`);
  return r.namespaced ? `${base}/namespaces/${namespace}/${r.name}` : `${base}/${r.name}`;
}

/**
 * The prometheus-operator CRDs the chart's ServiceMonitor and PrometheusRule need. The names are what
 * @kubernetes-models/prometheus-operator models; the spec is kept whole (its fields are checked against
 * those models by test/helm-chart.test.ts), so the dry run checks the rest of the object.
 */
async function installPrometheusOperatorCrds(): Promise<void> {
  for (const [kind, plural] of [
    ['ServiceMonitor', 'servicemonitors'],
    ['PrometheusRule', 'prometheusrules'],
  ] as const) {
    await api.ok('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.monitoring.coreos.com` },
      spec: {
        group: 'monitoring.coreos.com',
        scope: 'Namespaced',
        names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                required: ['spec'],
                properties: {
                  apiVersion: { type: 'string' },
                  kind: { type: 'string' },
                  metadata: { type: 'object' },
                  spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
            },
          },
        ],
      },
    });
    await until(async () => {
      const crd = await api.ok<{ status?: { conditions?: { type: string; status: string }[] } }>(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.monitoring.coreos.com`,
      );
      return !!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    }, `the ${kind} CRD`);
  }
  // Discovery serves the new group once the CRDs are established.
  await until(
    async () => (await api.request('GET', '/apis/monitoring.coreos.com/v1')).status === 200,
    'discovery of monitoring.coreos.com/v1',
  );
}

beforeAll(async () => {
  await api.start();
  await createNamespace(api, NS);
  await installPrometheusOperatorCrds();
});

afterAll(async () => {
  await api.stop();
});

describe('the Helm chart against a real kube-apiserver', () => {
  it('has every object of the central and agent installs accepted by a server-side dry run', async () => {
    const ciFiles = readdirSync(join(chart, 'ci')).filter((f) => f.endsWith('.yaml'));
    expect(ciFiles.sort()).toEqual(['agent-values.yaml', 'default-values.yaml', 'production-values.yaml']);
    const refused: string[] = [];
    const accepted: Record<string, number> = {};
    for (const file of ciFiles) {
      const objects = render(file);
      accepted[file] = 0;
      for (const o of objects) {
        const path = `${await collectionPath(o, NS)}?dryRun=All&fieldValidation=Strict`;
        const r = await api.request('POST', path, { body: o });
        if (r.status === 201 || r.status === 200) accepted[file] += 1;
        else refused.push(`${file} ${o.kind}/${o.metadata.name}: HTTP ${r.status} ${r.text.slice(0, 400)}`);
      }
      expect(accepted[file], file).toBe(objects.length);
    }
    expect(refused).toEqual([]);
    // Nothing was created.
    const sa = await api.ok<{ items: unknown[] }>('GET', `/api/v1/namespaces/${NS}/serviceaccounts`);
    expect(sa.items).toEqual([]);
    // The installs' sizes, so a template that silently renders nothing fails here too.
    expect(accepted).toEqual({ 'agent-values.yaml': 6, 'default-values.yaml': 13, 'production-values.yaml': 20 });
  });

  describe("the collector with the chart's own ServiceAccount and RBAC", () => {
    const proxy = new ApiProxy(api);
    let w: Watching;
    let token: string;
    const lines: { msg?: string; verb?: string; resource?: string; err?: string }[] = [];
    const objects = () => render('agent-values.yaml', [`collector.teamLabel=${TEAM}`]);
    const rbac = () =>
      objects().filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind));

    beforeAll(async () => {
      for (const o of rbac()) await api.ok('POST', await collectionPath(o, NS), o);
      const sa = rbac().find((o) => o.kind === 'ServiceAccount')!;
      expect(sa.metadata.name).toBe('pw-pullwatch-collector');
      token = await api.serviceAccountToken(NS, sa.metadata.name);
      await proxy.start();
      await createNamespace(api, 'shop', { [TEAM]: 'payments' });
      const logger = pino(
        { level: 'warn' },
        { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
      );
      w = await watchWithCollector({
        kubeconfig: api.kubeconfig(token, ['real'], proxy.url),
        cluster: 'agent',
        teamLabel: TEAM,
        logger,
      });
    });

    afterAll(async () => {
      await w?.stop();
      await proxy.stop();
    });

    const can = async (verb: string, resource: string, group = '', namespace?: string) => {
      const r = await api.request<{ status: { allowed: boolean } }>(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          token,
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: { resourceAttributes: { verb, resource, group, ...(namespace ? { namespace } : {}) } },
          },
        },
      );
      expect(r.status).toBe(201);
      return r.body.status.allowed;
    };

    it('is enough to watch: Events, Pods and Namespaces forwarded with their team', async () => {
      const pod = await createWaitingPod(api, 'shop', 'web-5d8f7c9b4-x2x7q', 'ghcr.io/acme/web:9');
      const ev = await createEvent(api, pod, 'Failed', failedPull('ghcr.io/acme/web:9'));
      await until(() => w.keys().includes(`agent/${ev.uid}/1`) && w.received.length === 2, 'the Pod and its Event');
      expect(await w.allConsumed()).toBe(2);
      expect(w.received.map((e) => [e.kind, e.team]).sort()).toEqual([
        ['event', 'payments'],
        ['pod-waiting', 'payments'],
      ]);
      expect(w.collector.stats().watch[0]!.errors).toEqual({ events: null, pods: null, namespaces: null });
      const allowed: Record<string, boolean> = {};
      for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'])
        for (const [resource, group] of [
          ['events', ''],
          ['events', 'events.k8s.io'],
          ['pods', ''],
          ['namespaces', ''],
        ] as const)
          allowed[`${verb} ${resource}${group ? `.${group}` : ''}`] = await can(verb, resource, group);
      expect(Object.keys(allowed).filter((k) => allowed[k])).toEqual([
        'get events',
        'get events.events.k8s.io',
        'get pods',
        'get namespaces',
        'list events',
        'list events.events.k8s.io',
        'list pods',
        'list namespaces',
        'watch events',
        'watch events.events.k8s.io',
        'watch pods',
        'watch namespaces',
      ]);
    });

    it('can neither read nor write Secrets', async () => {
      for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) {
        expect(await can(verb, 'secrets', '', NS), `${verb} secrets in ${NS}`).toBe(false);
        expect(await can(verb, 'secrets'), `${verb} secrets cluster-wide`).toBe(false);
      }
      const list = await api.request<{ reason: string }>('GET', `/api/v1/namespaces/${NS}/secrets`, { token });
      expect([list.status, list.body.reason]).toEqual([403, 'Forbidden']);
      const create = await api.request<{ reason: string }>('POST', `/api/v1/namespaces/${NS}/secrets`, {
        token,
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' }, stringData: { a: 'b' } },
      });
      expect([create.status, create.body.reason]).toEqual([403, 'Forbidden']);
    });

    it('names the verb and the resource when a permission is taken away, and recovers when it is back', async () => {
      const role = rbac().find((o) => o.kind === 'ClusterRole')!;
      const path = `/apis/rbac.authorization.k8s.io/v1/clusterroles/${role.metadata.name}`;
      const rules = (role as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] })
        .rules;
      // The same rules less `watch` on Pods.
      const withoutPodWatch = [
        { apiGroups: [''], resources: ['events', 'namespaces'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
        ...rules.filter((r) => !r.apiGroups.includes('')),
      ];
      await api.ok('PATCH', path, { rules: withoutPodWatch }, 'application/merge-patch+json');
      await until(async () => !(await can('watch', 'pods')), 'RBAC to take the change');
      proxy.cut();
      proxy.restore();
      const expected =
        'cannot watch pods: HTTP 403 Forbidden (the API server says: pods is forbidden: User ' +
        `"system:serviceaccount:${NS}:pw-pullwatch-collector" cannot watch resource "pods" in API group "" at the ` +
        'cluster scope)';
      await until(() => w.collector.stats().watch[0]!.errors.pods === expected, 'the error', 60_000);
      expect(lines.filter((l) => l.verb === 'watch' && l.resource === 'pods').map((l) => l.err)).toContain(expected);
      // The cut dropped the Event watch too; it comes back, the Pod watch does not.
      await until(() => w.collector.stats().watch[0]!.errors.events === null, 'the Event watch back');
      expect(w.collector.stats().watch[0]!.errors.pods).toBe(expected);
      // Every failure, the network's too, names its verb and resource.
      const failures = lines.filter((l) => l.msg === 'watch: reconnecting').map((l) => l.err);
      expect(failures.length).toBeGreaterThanOrEqual(3);
      for (const err of failures) expect(err).toMatch(/^cannot watch (events|pods|namespaces): ./);
      expect(failures.filter((e) => e?.startsWith('cannot watch events: '))).not.toEqual([]);

      await api.ok('PATCH', path, { rules }, 'application/merge-patch+json');
      await until(() => w.collector.stats().watch[0]!.errors.pods === null, 'the Pod watch to work again', 90_000);
    });
  });
});
