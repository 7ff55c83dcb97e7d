import { POD_SCOPED_KINDS, type Scenario, type ScenarioCluster, type ScenarioIncident } from './scenario.ts';
import { kubeletMessages, pullErrorDetail, splitImage, type Runtime } from './messages.ts';
import { kubeletBackoff } from '@pullwatch/event-schema';

/** A core/v1 Event object as the API server returns it. */
export interface SimEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; creationTimestamp: string };
  involvedObject: { apiVersion: 'v1'; kind: 'Pod'; name: string; namespace: string; uid: string; fieldPath: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: 'kubelet'; host: string };
  reportingComponent: 'kubelet';
  reportingInstance: string;
}

export interface Emitted {
  cluster: string;
  event: SimEvent;
}

/** kubelet's image pull back-off after `failures` failures, in seconds (`kubeletBackoff` of @pullwatch/event-schema). */
export function backoffSeconds(failures: number): number {
  return kubeletBackoff(failures).seconds;
}

interface Pod {
  cluster: ScenarioCluster;
  namespace: string;
  name: string;
  uid: string;
  node: string;
  container: string;
  image: string;
  incident: ScenarioIncident | null;
  failures: number;
  /** Aggregation: kubelet folds repeats of the same (reason, message) into one Event. */
  events: Map<string, SimEvent>;
}

type Action = { at: number; seq: number; run: () => void };

/** Seeded PRNG (mulberry32): the same scenario and seed give the same fleet. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POD_SCOPED = new Set<ScenarioIncident['kind']>(POD_SCOPED_KINDS);

/**
 * The fleet as a discrete-event simulation in scenario time. `advance(t)` runs everything due up
 * to `t` (epoch ms) and returns the Event objects the API servers would show, in time order.
 * Pure: no clock, no I/O.
 */
export class FleetSimulation {
  private readonly random: () => number;
  private readonly queue: Action[] = [];
  private seq = 0;
  private resourceVersion = 1000;
  private out: Emitted[] = [];
  private now: number;
  /** Mixed into uids and Pod names: each run of the simulator is a new set of objects, as in a real cluster. */
  private readonly run: string;
  readonly podsStarted = new Map<string, number>();

  /** `originMs` is "time zero" of the scenario (incident starts are relative to it). */
  constructor(
    private readonly scenario: Scenario,
    private readonly originMs: number,
    seed = scenario.seed,
  ) {
    this.random = rng(seed);
    this.run = Math.floor(originMs / 1000)
      .toString(16)
      .padStart(8, '0')
      .slice(-8);
    const from = originMs - scenario.backfill * 1000;
    this.now = from;
    for (const cluster of scenario.clusters) {
      if (cluster.podsPerMinute > 0) this.schedule(from + this.random() * 10_000, () => this.backgroundPod(cluster));
    }
    for (const incident of scenario.incidents) {
      // Registry-wide kinds break every pull from their registry; with an image, they also start its Pods.
      if (!POD_SCOPED.has(incident.kind) && !incident.image) continue;
      const at = Math.max(from, originMs + incident.start * 1000);
      for (const name of incident.clusters) {
        const cluster = scenario.clusters.find((c) => c.name === name)!;
        for (let i = 0; i < incident.pods; i++)
          this.schedule(at + i * 7000 + this.random() * 3000, () => this.incidentPod(cluster, incident));
      }
    }
  }

  advance(untilMs: number): Emitted[] {
    this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    while (this.queue.length && this.queue[0]!.at <= untilMs) {
      const action = this.queue.shift()!;
      this.now = action.at;
      action.run();
      // Actions schedule more actions; keep the queue ordered.
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    }
    this.now = Math.max(this.now, untilMs);
    const out = this.out;
    this.out = [];
    return out;
  }

  private schedule(at: number, run: () => void): void {
    this.queue.push({ at, seq: this.seq++, run });
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private id(len: number): string {
    let s = '';
    while (s.length < len)
      s += Math.floor(this.random() * 2 ** 32)
        .toString(16)
        .padStart(8, '0');
    return s.slice(0, len);
  }

  private newPod(cluster: ScenarioCluster, image: string, incident: ScenarioIncident | null, node?: string): Pod {
    const app = splitImage(image)
      .path.split('/')
      .pop()!
      .replace(/[^a-z0-9-]/g, '-');
    const suffix = `${this.run.slice(-4)}${this.id(5)}-${this.id(5)}`.replace(
      /[0-9a-f]/g,
      (c) => 'bcdfghjklmnpqrstvwxz'[parseInt(c, 16)]!,
    );
    this.podsStarted.set(cluster.name, (this.podsStarted.get(cluster.name) ?? 0) + 1);
    return {
      cluster,
      namespace: incident?.namespace ?? this.pick(cluster.namespaces),
      name: `${app}-${suffix}`,
      uid: `${this.run}-${this.id(4)}-${this.id(4)}-${this.id(4)}-${this.id(12)}`,
      node: node ?? this.pick(cluster.nodes).name,
      container: app,
      image,
      incident,
      failures: 0,
      events: new Map(),
    };
  }

  private backgroundPod(cluster: ScenarioCluster): void {
    const pod = this.newPod(cluster, this.pick(this.scenario.images), null);
    if (this.random() < 0.2) {
      this.emit(pod, 'Pulled', 'Normal', kubeletMessages.alreadyPresent(pod.image));
      this.started(pod);
    } else {
      this.attempt(pod);
    }
    // Poisson arrivals at the cluster's rate.
    const gap = (-Math.log(1 - this.random()) * 60_000) / cluster.podsPerMinute;
    this.schedule(this.now + gap, () => this.backgroundPod(cluster));
  }

  private incidentPod(cluster: ScenarioCluster, incident: ScenarioIncident): void {
    let node = incident.node;
    if (!node && incident.kind === 'arch_mismatch') node = cluster.nodes.find((n) => n.arch === 'arm64')?.name;
    const pod = this.newPod(cluster, incident.image!, incident, node);
    this.attempt(pod);
  }

  /** The incident that makes this pull fail now, if any. */
  private failure(pod: Pod): ScenarioIncident | null {
    const active = (i: ScenarioIncident) => {
      const start = this.originMs + i.start * 1000;
      const end = i.heal ?? i.fix;
      return this.now >= start && (end === undefined || this.now < start + end * 1000);
    };
    if (pod.incident && active(pod.incident)) return pod.incident;
    const host = splitImage(pod.image).host;
    for (const i of this.scenario.incidents) {
      if (POD_SCOPED.has(i.kind) || !i.clusters.includes(pod.cluster.name) || i.registry !== host) continue;
      if (active(i)) return i;
    }
    return null;
  }

  private attempt(pod: Pod): void {
    this.emit(pod, 'Pulling', 'Normal', kubeletMessages.pulling(pod.image));
    const incident = this.failure(pod);
    if (!incident) {
      const seconds = 0.4 + this.random() * 12;
      this.schedule(this.now + seconds * 1000, () => {
        const bytes = Math.floor(8e6 + this.random() * 400e6);
        this.emit(pod, 'Pulled', 'Normal', kubeletMessages.pulled(pod.image, seconds, bytes));
        this.started(pod);
      });
      return;
    }
    const runtime: Runtime = pod.cluster.runtime;
    this.schedule(this.now + 300 + this.random() * 1500, () => {
      pod.failures += 1;
      this.emit(
        pod,
        'Failed',
        'Warning',
        kubeletMessages.failed(
          pod.image,
          pullErrorDetail(incident.kind, pod.image, runtime, {
            account: incident.account,
            // A token id per attempt, as Docker Hub's are (the collector redacts it).
            tokenId: incident.kind === 'dockerhub_account_rate_limit' ? `dckr_jti_${this.id(27)}=` : undefined,
          }),
        ),
      );
      this.emit(pod, 'Failed', 'Warning', kubeletMessages.errImagePull());
      const wait = backoffSeconds(pod.failures) * 1000;
      this.schedule(this.now + 1000, () => {
        this.emit(pod, 'BackOff', 'Normal', kubeletMessages.backOff(pod.image));
        this.emit(pod, 'Failed', 'Warning', kubeletMessages.imagePullBackOff());
      });
      this.schedule(this.now + wait, () => this.attempt(pod));
    });
  }

  private started(pod: Pod): void {
    this.schedule(this.now + 200, () => {
      this.emit(pod, 'Created', 'Normal', kubeletMessages.created());
      this.emit(pod, 'Started', 'Normal', kubeletMessages.started());
    });
  }

  private emit(pod: Pod, reason: string, type: 'Normal' | 'Warning', message: string): void {
    const at = new Date(this.now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const key = `${reason}\u0000${message}`;
    let event = pod.events.get(key);
    if (event) {
      event = {
        ...event,
        count: event.count + 1,
        lastTimestamp: at,
        metadata: { ...event.metadata, resourceVersion: String(++this.resourceVersion) },
      };
    } else {
      event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {
          name: `${pod.name}.${this.id(16)}`,
          namespace: pod.namespace,
          uid: `${this.run}-${this.id(4)}-${this.id(4)}-${this.id(4)}-${this.id(12)}`,
          resourceVersion: String(++this.resourceVersion),
          creationTimestamp: at,
        },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'Pod',
          name: pod.name,
          namespace: pod.namespace,
          uid: pod.uid,
          fieldPath: `spec.containers{${pod.container}}`,
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: at,
        lastTimestamp: at,
        source: { component: 'kubelet', host: pod.node },
        reportingComponent: 'kubelet',
        reportingInstance: pod.node,
      };
    }
    pod.events.set(key, event);
    this.out.push({ cluster: pod.cluster.name, event });
  }
}
