import { PULL_WAITING_REASONS, type PodContext, type PodWaiting } from '@pullwatch/event-schema';

/** The parts of a Pod the collector reads. */
export interface KubePod {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
  };
  spec?: {
    nodeName?: string;
    imagePullSecrets?: { name?: string }[];
    containers?: { name: string; image?: string; imagePullPolicy?: string }[];
    initContainers?: { name: string; image?: string; imagePullPolicy?: string }[];
  };
  status?: {
    containerStatuses?: { name: string; image?: string; state?: { waiting?: { reason?: string; message?: string } } }[];
    initContainerStatuses?: {
      name: string;
      image?: string;
      state?: { waiting?: { reason?: string; message?: string } };
    }[];
  };
}

const WAITING = new Set<string>(PULL_WAITING_REASONS);

/** Containers of a Pod that wait on their image (ErrImagePull, ImagePullBackOff, …). */
export function waitingContainers(pod: KubePod, observedAt: Date): PodWaiting[] {
  const specs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const out: PodWaiting[] = [];
  for (const s of statuses) {
    const waiting = s.state?.waiting;
    if (!waiting?.reason || !WAITING.has(waiting.reason)) continue;
    const spec = specs.find((c) => c.name === s.name);
    out.push({
      namespace: pod.metadata?.namespace ?? '',
      pod: pod.metadata?.name ?? '',
      podUid: pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`,
      node: pod.spec?.nodeName ?? null,
      container: s.name,
      image: spec?.image ?? s.image ?? '',
      imagePullPolicy: spec?.imagePullPolicy ?? null,
      hasPullSecrets: (pod.spec?.imagePullSecrets ?? []).length > 0,
      reason: waiting.reason,
      message: waiting.message ?? null,
      observedAt: observedAt.toISOString(),
    });
  }
  return out;
}

/** What Events about this Pod's container are enriched with. */
export function podContext(pod: KubePod, container: string | null): PodContext | null {
  const specs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const spec = container ? specs.find((c) => c.name === container) : specs.length === 1 ? specs[0] : undefined;
  if (!spec && !pod.spec) return null;
  return {
    image: spec?.image ?? null,
    imagePullPolicy: spec?.imagePullPolicy ?? null,
    hasPullSecrets: pod.spec ? (pod.spec.imagePullSecrets ?? []).length > 0 : null,
    node: pod.spec?.nodeName ?? null,
  };
}
