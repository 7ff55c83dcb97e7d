import { type Classification, type ClassifyInput, ClassifyCache } from '@pullwatch/classifier';
import type { PodStateRow } from './table-formats.ts';

export interface CauseMemory {
  cause: string;
  subcause: string;
  hint: string;
}

/**
 * A map that forgets what is not used: time is cut into generations of `generationMs`, and an entry
 * neither set nor read during a whole generation is dropped at the start of the next one (so it is
 * kept at least one generation, at most two, after its last use). Two plain Maps, the older dropped
 * whole: no timestamp per entry.
 */
export class AgingMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private generation: number;

  constructor(
    private readonly generationMs: number,
    private readonly now: () => number,
  ) {
    this.generation = Math.floor(now() / generationMs);
  }

  private age(): void {
    const g = Math.floor(this.now() / this.generationMs);
    if (g === this.generation) return;
    this.old = g === this.generation + 1 ? this.young : new Map();
    this.young = new Map();
    this.generation = g;
  }

  get(key: K): V | undefined {
    this.age();
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      // Used again: it moves to the young generation.
      this.old.delete(key);
      this.young.set(key, o);
    }
    return o;
  }

  set(key: K, value: V): void {
    this.age();
    this.young.set(key, value);
    this.old.delete(key);
  }

  get size(): number {
    this.age();
    return this.young.size + this.old.size;
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}

/** The key of a Pod's container (its last image): one format wherever the state is written or restored. */
export const containerKey = (cluster: string, namespace: string, pod: string, container: string): string =>
  `${cluster}/${namespace}/${pod}/${container}`;

/** The key of a Pod/container/image (its last cause and open state), from its container's key. */
export const podKey = (ofContainer: string, image: string): string => `${ofContainer}/${image}`;

/**
 * A flat copy of `s` that shares no memory with other strings. A key built with a template is a tree of
 * its parts, and a part read out of a message (an image) keeps the whole message alive: remembered as it
 * is, each key would hold a message (measured: 28 MiB for the causes of 60 000 Pods).
 */
const own = (s: string): string => JSON.parse(JSON.stringify(s)) as string;

export interface AnalyzerStateOptions {
  /**
   * How long an Event's last count, a container's last image and a Pod's last cause are remembered
   * after their last use (forgotten between one and two of these); open Pod states are kept until they
   * recover.
   */
  forgetAfterMs?: number;
  now?: () => number;
  /** Characters of recent classifier inputs whose answers are kept (default 4 000 000, about 8 MB). */
  classifyCacheChars?: number;
}

/** Two days, as far back as a restart restores the counts from ClickHouse. */
export const FORGET_AFTER_MS = 48 * 3_600_000;

/**
 * What the analyzer remembers between messages: the last count seen per Event (so aggregated
 * Events add only their growth), the last concrete cause per Pod/container/image (to attribute
 * `no_cause` messages), each one's open pull state, and the image last seen per Pod/container
 * (status events name none). Keyed per cluster; restorable from ClickHouse after a restart.
 *
 * Bounded: counts, causes and images not used for `forgetAfterMs` are forgotten, a recovered Pod's
 * state is dropped (it is stored; only open states are read back). Compact, as it holds an entry per
 * Event: counts are kept per cluster under the Event's uid (no composite key per Event), equal causes
 * share one object, and remembered images are copies (not substrings of their messages).
 */
export class AnalyzerState {
  private readonly forgetAfterMs: number;
  private readonly now: () => number;
  private readonly counts = new Map<string, AgingMap<string, number>>();
  private readonly causes: AgingMap<string, CauseMemory>;
  private readonly causePool = new Map<string, CauseMemory>();
  private readonly images: AgingMap<string, string>;
  private readonly pods = new Map<string, PodStateRow>();
  private readonly classifications: ClassifyCache;

  constructor(opts: AnalyzerStateOptions = {}) {
    this.classifications = new ClassifyCache({ maxChars: opts.classifyCacheChars ?? 4_000_000 });
    this.forgetAfterMs = opts.forgetAfterMs ?? FORGET_AFTER_MS;
    this.now = opts.now ?? Date.now;
    this.causes = new AgingMap(this.forgetAfterMs, this.now);
    this.images = new AgingMap(this.forgetAfterMs, this.now);
  }

  /** The classifier's answer, reused when the same message, reason and image were seen recently. */
  classify(input: ClassifyInput): Classification {
    return this.classifications.classify(input);
  }

  /** Classifications answered from memory and computed, since the start. */
  classifyStats(): { hits: number; misses: number } {
    return { hits: this.classifications.hits, misses: this.classifications.misses };
  }

  /** The last count seen of an Event (0: not seen, or forgotten). */
  count(cluster: string, uid: string): number {
    return this.counts.get(cluster)?.get(uid) ?? 0;
  }

  setCount(cluster: string, uid: string, count: number): void {
    let m = this.counts.get(cluster);
    if (!m) {
      m = new AgingMap(this.forgetAfterMs, this.now);
      this.counts.set(cluster, m);
    }
    m.set(uid, count);
  }

  /** The last concrete cause of a Pod/container/image. */
  cause(podKey: string): CauseMemory | undefined {
    return this.causes.get(podKey);
  }

  setCause(podKey: string, c: CauseMemory): void {
    const id = `${c.cause}\u0000${c.subcause}\u0000${c.hint}`;
    let shared = this.causePool.get(id);
    if (!shared) {
      shared = { cause: c.cause, subcause: c.subcause, hint: c.hint };
      this.causePool.set(id, shared);
    }
    this.causes.set(own(podKey), shared);
  }

  /** The image last seen for a Pod/container. */
  image(containerKey: string): string | undefined {
    return this.images.get(containerKey);
  }

  setImage(containerKey: string, image: string): void {
    if (this.images.get(containerKey) !== image) this.images.set(own(containerKey), own(image));
  }

  /** The open (failing or stuck) state of a Pod/container/image. */
  pod(podKey: string): PodStateRow | undefined {
    return this.pods.get(podKey);
  }

  /** A recovered state is not kept: it reads as no open state, as after a restart. */
  setPod(podKey: string, s: PodStateRow): void {
    if (s.status === 'recovered') this.pods.delete(podKey);
    else if (this.pods.has(podKey)) this.pods.set(podKey, s);
    else this.pods.set(own(podKey), s);
  }

  /** How many of each it holds now. */
  sizes(): { events: number; causes: number; images: number; pods: number } {
    let events = 0;
    for (const m of this.counts.values()) events += m.size;
    return { events, causes: this.causes.size, images: this.images.size, pods: this.pods.size };
  }

  clear(): void {
    this.counts.clear();
    this.causes.clear();
    this.images.clear();
    this.pods.clear();
  }
}
