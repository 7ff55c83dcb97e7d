import type { KubeConfig } from '@kubernetes/client-node';
import {
  boundEvent,
  boundPodWaiting,
  containerOf,
  eventEnvelope,
  isImageEvent,
  MAX_NAME_CHARS,
  MAX_NAMESPACE_CHARS,
  podWaitingEnvelope,
  safeParseK8sEvent,
  workloadFromOwners,
  type PodExtras,
} from '@pullwatch/event-schema';
import type { Logger } from '@pullwatch/telemetry';
import { BackPressureError, encodeEnvelope, type EnvelopeProducer, type Outgoing } from '../producer.ts';
import { ListWatch, type KubeObject } from './list-watch.ts';
import { podContext, waitingContainers, type KubePod } from './pod-waiting.ts';
import { SentIdentities } from './sent-identities.ts';
import { BackoffPolicy } from '@pullwatch/backoff';

// While Kafka pushes back: 250 ms doubling to 10 s, full jitter; the watch waits, nothing is dropped.
const PUSHBACK_BACKOFF = new BackoffPolicy({ baseMs: 250, maxMs: 10_000 });

export interface ClusterWatcherStats {
  cluster: string;
  forwarded: number;
  skippedAlreadySent: number;
  filtered: number;
  /**
   * Watched objects that were not a valid Event or Pod, or named one longer than Kubernetes allows (the
   * field limits of @pullwatch/event-schema): skipped, counted.
   */
  invalid: number;
  /** Pods currently known (for the Events' Pod context): grows with ADDED, shrinks with DELETED and relists. */
  podsTracked: number;
  events: ListWatch['stats'];
  pods: ListWatch['stats'];
  /** Null when no team label is configured (no Namespace watch). */
  namespaces: ListWatch['stats'] | null;
  /** Why each resource's list or watch last failed, until it works again (null: working). */
  errors: { events: string | null; pods: string | null; namespaces: string | null };
}

/** How long the first Pods and Events wait for the first Namespace list (when a team label is set). */
const NAMESPACE_WAIT_MS = 10_000;
/** How long Events wait for the first Pod list (their Pod context) before they go without it. */
const POD_WAIT_MS = 10_000;
/**
 * How long a Pod or Event in a Namespace the Namespace watch has not shown yet waits for it: a new
 * Namespace and its first Pods come through separate watches, in either order.
 */
const NEW_NAMESPACE_WAIT_MS = 3_000;

const podKey = (o: KubeObject): string | null => {
  const { namespace, name } = o?.metadata ?? {};
  return typeof namespace === 'string' && typeof name === 'string' && namespace && name ? `${namespace}/${name}` : null;
};

/** How much of a name a log line repeats (a hostile one can be any length). */
const forLog = (v: unknown) => (typeof v === 'string' ? v.slice(0, MAX_NAME_CHARS) : undefined);

/**
 * One cluster's Events and Pods, watched and produced to Kafka. What was produced is remembered by
 * identity, so relists after reconnects or 410 Gone add only what is new. A full producer buffer
 * is waited out: the watch stops reading meanwhile, and nothing is dropped.
 */
export class ClusterWatcher {
  private readonly sent = new SentIdentities();
  private readonly pods = new Map<string, KubePod>();
  private readonly events: ListWatch;
  private readonly podWatch: ListWatch;
  /** Namespace → its team label's value (only Namespaces that have one). */
  private readonly teams = new Map<string, string>();
  /** Every Namespace the Namespace watch has shown (with a team or not), once it has listed them. */
  private readonly knownNamespaces = new Set<string>();
  private namespacesKnown = false;
  private readonly namespaceListeners = new Set<() => void>();
  private readonly namespaceWatch: ListWatch | null;
  /**
   * Settles after the first Namespace list, or after NAMESPACE_WAIT_MS when it does not come (Pods and Events then go
   * without team).
   */
  private namespacesListed: Promise<void> = Promise.resolve();
  private markNamespacesListed: () => void = () => {};
  /**
   * Settles after the first Pod list, or after POD_WAIT_MS when it does not come: the Events of the first
   * list then find their Pod's image and pull policy (the two watches answer in any order).
   */
  private podsListed: Promise<void> = Promise.resolve();
  private markPodsListed: () => void = () => {};
  private stopped = false;
  private counts = { forwarded: 0, skippedAlreadySent: 0, filtered: 0, invalid: 0 };

  constructor(
    readonly cluster: string,
    kc: KubeConfig,
    private readonly producer: EnvelopeProducer,
    private readonly log: Logger,
    private readonly opts: { allEvents: boolean; teamLabel?: string | null },
  ) {
    const teamLabel = opts.teamLabel ?? null;
    this.namespaceWatch = teamLabel
      ? new ListWatch(
          kc,
          '/api/v1/namespaces',
          {
            onList: async (items) => {
              this.teams.clear();
              this.knownNamespaces.clear();
              for (const ns of items) this.onNamespace(ns, teamLabel);
              this.namespacesKnown = true;
              this.markNamespacesListed();
            },
            onObject: async (ns) => this.onNamespace(ns, teamLabel),
            onDeleted: (ns) => {
              if (ns?.metadata?.name) {
                this.teams.delete(ns.metadata.name);
                this.knownNamespaces.delete(ns.metadata.name);
              }
            },
          },
          log,
        )
      : null;
    this.podWatch = new ListWatch(
      kc,
      '/api/v1/pods',
      {
        onList: async (items) => {
          await this.onPods(items, { relist: true });
          this.markPodsListed();
        },
        onObject: (o) => this.onPods([o]),
        onDeleted: (o) => {
          const key = podKey(o);
          if (key) this.pods.delete(key);
        },
      },
      log,
    );
    this.events = new ListWatch(
      kc,
      '/api/v1/events',
      { onList: (items) => this.onEvents(items), onObject: (o) => this.onEvents([o]) },
      log,
    );
  }

  /**
   * Starts the watches. With a team label, Namespaces are listed first (awaited), so the first Pods
   * and Events already carry their team.
   */
  start(): void {
    if (this.namespaceWatch) {
      [this.namespacesListed, this.markNamespacesListed] = this.firstList(NAMESPACE_WAIT_MS, () =>
        this.log.warn({ cluster: this.cluster }, 'watch: no Namespace list yet; sending without teams meanwhile'),
      );
      this.namespaceWatch.start();
    }
    [this.podsListed, this.markPodsListed] = this.firstList(POD_WAIT_MS, () =>
      this.log.warn({ cluster: this.cluster }, 'watch: no Pod list yet; sending Events without their Pod meanwhile'),
    );
    this.podWatch.start();
    this.events.start();
  }

  /** A wait for a watch's first list: settled by the returned mark, or after `ms` (then `late` says so). */
  private firstList(ms: number, late: () => void): [Promise<void>, () => void] {
    let mark = () => {};
    const listed = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        late();
        resolve();
      }, ms);
      timer.unref();
      mark = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    return [listed, mark];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const l of this.namespaceListeners) l();
    await Promise.all([this.events.stop(), this.podWatch.stop(), this.namespaceWatch?.stop()]);
  }

  stats(): ClusterWatcherStats {
    return {
      cluster: this.cluster,
      ...this.counts,
      podsTracked: this.pods.size,
      events: { ...this.events.stats },
      pods: { ...this.podWatch.stats },
      namespaces: this.namespaceWatch ? { ...this.namespaceWatch.stats } : null,
      errors: {
        events: this.events.lastError,
        pods: this.podWatch.lastError,
        namespaces: this.namespaceWatch?.lastError ?? null,
      },
    };
  }

  private async onEvents(items: KubeObject[]): Promise<void> {
    await this.namespacesListed;
    await this.podsListed;
    await this.namespacesOf(items);
    const out: Outgoing[] = [];
    for (const item of items) {
      const parsed = safeParseK8sEvent({ kind: 'Event', ...item });
      if (!parsed.success) {
        this.invalid('Event', item, parsed.error.issues[0]?.message ?? 'invalid');
        continue;
      }
      const bounded = boundEvent(parsed.data);
      if (!bounded.ok) {
        this.invalid('Event', item, bounded.reason);
        continue;
      }
      const n = bounded.normalized;
      if (!this.opts.allEvents && !isImageEvent(n)) {
        this.counts.filtered += 1;
        continue;
      }
      const pod = this.pods.get(`${n.object.namespace}/${n.object.name}`);
      const o = eventEnvelope({
        cluster: this.cluster,
        source: 'watch',
        event: bounded.event,
        normalized: n,
        messageTruncated: bounded.messageTruncated,
        pod: pod ? podContext(pod, containerOf(n.object.fieldPath)) : null,
        ...this.extras(n.object.namespace, pod),
      });
      if (this.sent.has(o.envelope.identity.key)) {
        this.counts.skippedAlreadySent += 1;
        continue;
      }
      out.push(o);
    }
    await this.produce(out);
  }

  /** A list (`relist`) replaces the known Pods, so Pods deleted while the watch was away are forgotten too. */
  private async onPods(items: KubeObject[], opts: { relist?: boolean } = {}): Promise<void> {
    await this.namespacesListed;
    await this.namespacesOf(items);
    const out: Outgoing[] = [];
    const now = new Date();
    if (opts.relist) this.pods.clear();
    for (const item of items) {
      const key = podKey(item);
      if (!key) {
        this.invalid('Pod', item, 'no metadata.namespace and metadata.name');
        continue;
      }
      const { name, namespace } = item.metadata as { name: string; namespace: string };
      if (name.length > MAX_NAME_CHARS || namespace.length > MAX_NAMESPACE_CHARS) {
        this.invalid(
          'Pod',
          item,
          `a name over ${MAX_NAME_CHARS} or a namespace over ${MAX_NAMESPACE_CHARS} characters`,
        );
        continue;
      }
      const pod = item as KubePod;
      this.pods.set(key, pod);
      for (const w of waitingContainers(pod, now)) {
        const bounded = boundPodWaiting(w);
        if (!bounded.ok) {
          this.invalid('Pod', item, bounded.reason);
          continue;
        }
        const o = podWaitingEnvelope({
          cluster: this.cluster,
          source: 'watch',
          podWaiting: bounded.podWaiting,
          messageTruncated: bounded.messageTruncated,
          ...this.extras(w.namespace, pod),
        });
        if (this.sent.has(o.envelope.identity.key)) continue;
        out.push(o);
      }
    }
    await this.produce(out);
  }

  private onNamespace(ns: KubeObject, teamLabel: string): void {
    const name = ns?.metadata?.name;
    if (typeof name !== 'string' || !name) return;
    const labels = (ns.metadata as { labels?: Record<string, unknown> }).labels;
    const team = labels?.[teamLabel];
    if (typeof team === 'string' && team) this.teams.set(name, team);
    else this.teams.delete(name);
    this.knownNamespaces.add(name);
    for (const l of this.namespaceListeners) l();
  }

  /**
   * With a team label, waits (at most NEW_NAMESPACE_WAIT_MS, once per Namespace) until the Namespace watch has
   * shown every Namespace these objects are in, so the first Pods of a new Namespace carry its team.
   */
  private async namespacesOf(items: KubeObject[]): Promise<void> {
    if (!this.namespaceWatch || !this.namespacesKnown) return;
    const names = new Set<string>();
    for (const item of items) {
      const ns = item?.metadata?.namespace;
      if (typeof ns === 'string' && ns && !this.knownNamespaces.has(ns)) names.add(ns);
    }
    if (names.size === 0) return;
    const missing = () => [...names].filter((n) => !this.knownNamespaces.has(n));
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.namespaceListeners.delete(check);
        resolve();
      };
      const check = () => {
        if (this.stopped || missing().length === 0) done();
      };
      const timer = setTimeout(() => {
        // Not shown in time (a lagging or failing Namespace watch): go on without a team, and do not wait again.
        for (const n of missing()) this.knownNamespaces.add(n);
        done();
      }, NEW_NAMESPACE_WAIT_MS);
      this.namespaceListeners.add(check);
    });
  }

  /**
   * The Pod's workload (from its owner references; without the Pod, the analyzer infers it) and its Namespace's team.
   */
  private extras(namespace: string, pod: KubePod | undefined): PodExtras {
    return {
      workload: pod?.metadata ? workloadFromOwners(pod.metadata) : undefined,
      team: this.teams.get(namespace) ?? null,
    };
  }

  private invalid(kind: string, item: KubeObject, why: string): void {
    this.counts.invalid += 1;
    this.log.warn(
      {
        cluster: this.cluster,
        kind,
        name: forLog(item?.metadata?.name),
        namespace: forLog(item?.metadata?.namespace),
        why,
      },
      'watch: skipping an invalid object',
    );
  }

  private async produce(out: Outgoing[]): Promise<void> {
    for (let attempt = 0; out.length && !this.stopped; attempt++) {
      try {
        await this.producer.send(out.map(encodeEnvelope));
        for (const o of out) this.sent.add(o.envelope.identity.key);
        this.counts.forwarded += out.length;
        return;
      } catch (err) {
        if (!(err instanceof BackPressureError)) throw err;
        if (attempt === 0)
          this.log.warn({ cluster: this.cluster, err: err.message }, 'watch: Kafka pushing back; pausing the watch');
        await PUSHBACK_BACKOFF.sleep(PUSHBACK_BACKOFF.delay(attempt));
      }
    }
  }
}
