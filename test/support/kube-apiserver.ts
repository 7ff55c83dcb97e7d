import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeBinaryPaths } from '../../scripts/kube-binaries.mjs';
import { makeCertificates } from './certificates.ts';
import { freePort } from './free-port.ts';
import { until } from './until.ts';

export interface KubeApiServerOptions {
  /** `--event-ttl`: how long Events live before the server deletes them (default 1h, as upstream). */
  eventTtl?: string;
  /** `--etcd-compaction-interval`: the apiserver compacts etcd this often (default 10s, so tests meet it). */
  compactionInterval?: string;
}

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
  text: string;
}

/** A Kubernetes Status object, as the server sends it for errors (and inside a watch's ERROR event). */
export interface KubeStatus {
  kind: 'Status';
  code: number;
  reason?: string;
  message?: string;
  metadata?: { continue?: string; resourceVersion?: string };
}

type Json = Record<string, unknown>;

/**
 * A real kube-apiserver on a real etcd, both on loopback with free ports, started from the binaries that
 * `node scripts/kube-binaries.mjs` builds. It serves HTTPS with a certificate of a throw-away CA, knows one
 * admin token (group system:masters) and signs ServiceAccount tokens; nothing else runs (no controllers,
 * no scheduler, no kubelet), so tests write Pods, their status and Events the way those components would.
 */
export class KubeApiServer {
  readonly adminToken = randomBytes(24).toString('hex');
  private readonly dir = mkdtempSync(join(tmpdir(), 'pw-kube-apiserver-'));
  private readonly certs = makeCertificates();
  private etcd: ChildProcess | null = null;
  private apiserver: ChildProcess | null = null;
  private etcdPort = 0;
  private port = 0;
  /** How long the last start took until /readyz said ok. */
  readyMs = 0;
  private readonly onExit = () => {
    this.apiserver?.kill('SIGKILL');
    this.etcd?.kill('SIGKILL');
  };

  constructor(private readonly opts: KubeApiServerOptions = {}) {}

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** The CA that signed the serving certificate (PEM). */
  get caPem(): string {
    return readFileSync(this.certs.ca, 'utf8');
  }

  /** The serving certificate and key (PEM), for a test proxy in front of the server to present. */
  get serving(): { cert: string; key: string } {
    return { cert: readFileSync(this.certs.serverCert, 'utf8'), key: readFileSync(this.certs.serverKey, 'utf8') };
  }

  get etcdUrl(): string {
    return `http://127.0.0.1:${this.etcdPort}`;
  }

  /** Where the servers' output goes (one file each), for a failing test to point at. */
  get logs(): { etcd: string; apiserver: string } {
    return { etcd: join(this.dir, 'etcd.log'), apiserver: join(this.dir, 'kube-apiserver.log') };
  }

  async start(): Promise<void> {
    process.once('exit', this.onExit);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(this.dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(this.dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(
      join(this.dir, 'tokens.csv'),
      `${this.adminToken},pullwatch-admin,pullwatch-admin,"system:masters"\n`,
    );
    await this.startEtcd();
    this.port = await freePort();
    await this.startApiserver();
  }

  private async startEtcd(): Promise<void> {
    this.etcdPort = await freePort();
    const peer = `http://127.0.0.1:${await freePort()}`;
    this.etcd = spawnLogged(
      kubeBinaryPaths().etcd,
      [
        '--name=pw',
        `--data-dir=${join(this.dir, 'etcd')}`,
        `--listen-client-urls=${this.etcdUrl}`,
        `--advertise-client-urls=${this.etcdUrl}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=pw=${peer}`,
        // A test's data need not survive a power cut; fsync on a busy disk costs seconds.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      this.logs.etcd,
    );
    await until(
      async () => {
        if (this.etcd?.exitCode !== null) throw new Error(`etcd exited; see ${this.logs.etcd}`);
        return fetch(`${this.etcdUrl}/health`).then(
          async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true',
          () => false,
        );
      },
      'etcd to be healthy',
      60_000,
      100,
    );
  }

  private async startApiserver(): Promise<void> {
    const started = Date.now();
    this.apiserver = spawnLogged(
      kubeBinaryPaths().kubeApiserver,
      [
        `--etcd-servers=${this.etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${this.port}`,
        `--tls-cert-file=${this.certs.serverCert}`,
        `--tls-private-key-file=${this.certs.serverKey}`,
        `--cert-dir=${join(this.dir, 'certs')}`,
        `--token-auth-file=${join(this.dir, 'tokens.csv')}`,
        `--service-account-key-file=${join(this.dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(this.dir, 'sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--authorization-mode=RBAC',
        // No controllers run: nothing would create a Namespace's `default` ServiceAccount for new Pods.
        '--disable-admission-plugins=ServiceAccount',
        '--endpoint-reconciler-type=none',
        '--service-cluster-ip-range=10.96.0.0/16',
        `--etcd-compaction-interval=${this.opts.compactionInterval ?? '10s'}`,
        `--event-ttl=${this.opts.eventTtl ?? '1h'}`,
        '--profiling=false',
      ],
      this.logs.apiserver,
    );
    await until(
      async () => {
        if (this.apiserver?.exitCode !== null) throw new Error(`kube-apiserver exited; see ${this.logs.apiserver}`);
        return this.request('GET', '/readyz').then(
          (r) => r.status === 200,
          () => false,
        );
      },
      `kube-apiserver to be ready (log: ${this.logs.apiserver})`,
      120_000,
      100,
    );
    this.readyMs = Date.now() - started;
  }

  /** Stops the apiserver (etcd keeps its data) and starts it again on the same port. */
  async restartApiserver(between?: () => Promise<void>): Promise<void> {
    await stopProcess(this.apiserver);
    this.apiserver = null;
    await between?.();
    await this.startApiserver();
  }

  /** Stops everything this server started and removes its files. */
  async stop(): Promise<void> {
    await stopProcess(this.apiserver);
    await stopProcess(this.etcd);
    this.apiserver = null;
    this.etcd = null;
    process.off('exit', this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.certs.dir, { recursive: true, force: true });
  }

  /** etcd's current revision (what the next write's resourceVersion will exceed). */
  async etcdRevision(): Promise<number> {
    const r = await fetch(`${this.etcdUrl}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('/pullwatch-none').toString('base64') }),
    });
    return Number(((await r.json()) as { header: { revision: string } }).header.revision);
  }

  /**
   * Compacts etcd up to its current revision R: every version before R is gone from then on (a watch from
   * R-1 still works, as it starts at R).
   */
  async compactEtcd(): Promise<number> {
    const revision = await this.etcdRevision();
    const r = await fetch(`${this.etcdUrl}/v3/kv/compaction`, {
      method: 'POST',
      body: JSON.stringify({ revision: String(revision), physical: true }),
    });
    if (!r.ok) throw new Error(`etcd compaction: HTTP ${r.status} ${await r.text()}`);
    return revision;
  }

  /** One request to the API (as the admin unless a token is given); JSON in and out. */
  request<T = Json>(
    method: string,
    path: string,
    opts: { body?: unknown; token?: string; contentType?: string } = {},
  ): Promise<KubeResponse<T>> {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        `${this.url}${path}`,
        {
          method,
          ca: this.caPem,
          headers: {
            authorization: `Bearer ${opts.token ?? this.adminToken}`,
            accept: 'application/json',
            // A length, not chunks: Node sends a DELETE's body with neither unless told, and the server
            // then reads that body as the start of the connection's next request (400 Bad Request).
            ...(payload
              ? {
                  'content-type': opts.contentType ?? 'application/json',
                  'content-length': String(Buffer.byteLength(payload)),
                }
              : {}),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // not JSON (e.g. /readyz says "ok")
            }
            resolve({ status: res.statusCode ?? 0, body: body as T, text });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A request that must succeed (2xx); returns the body. */
  async ok<T = Json>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const r = await this.request<T>(method, path, { body, contentType });
    if (r.status < 200 || r.status > 299)
      throw new Error(`${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
    return r.body;
  }

  /** A kubeconfig for this server with one context per name, each authenticating with `token`. */
  kubeconfig(token: string, contexts: string[] = ['real'], server = this.url): string {
    const ca = Buffer.from(this.caPem).toString('base64');
    const yaml = [
      'apiVersion: v1',
      'kind: Config',
      `current-context: ${contexts[0]}`,
      'clusters:',
      `- name: real\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${ca}`,
      'users:',
      `- name: user\n  user:\n    token: ${token}`,
      'contexts:',
      ...contexts.map((c) => `- name: ${c}\n  context:\n    cluster: real\n    user: user`),
      '',
    ].join('\n');
    const path = join(mkdtempSync(join(this.dir, 'kubeconfig-')), 'config');
    writeFileSync(path, yaml);
    return path;
  }

  /** A token for a ServiceAccount, from the TokenRequest API (as a Pod's projected token would be). */
  async serviceAccountToken(namespace: string, name: string, expirationSeconds = 3600): Promise<string> {
    const r = await this.ok<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
    );
    return r.status.token;
  }
}

function spawnLogged(bin: string, args: string[], logFile: string): ChildProcess {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.on('exit', () => log.end());
  return child;
}

async function stopProcess(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
