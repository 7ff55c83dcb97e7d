import { z } from 'zod';

/**
 * The workload that controls a Pod. `inferred` is true when it was read from a name pattern rather
 * than from an owner reference (or the label the owning controller sets).
 *
 * `DaemonSet|Job` is a kind of its own: a Pod named `name-<5 chars>` is a DaemonSet's or a plain
 * Job's (or a bare ReplicaSet's), and its name alone cannot tell which; the kind says so instead of guessing.
 */
export const WORKLOAD_KINDS = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;
export const AMBIGUOUS_KIND = 'DaemonSet|Job' as const;

export const WorkloadSchema = z.object({
  /** A WORKLOAD_KINDS kind, AMBIGUOUS_KIND, or another controller's kind (an operator's, e.g. `Rollout`). */
  kind: z.string().min(1),
  name: z.string().min(1),
  inferred: z.boolean(),
});
export type Workload = z.infer<typeof WorkloadSchema>;

/**
 * The alphabet of Kubernetes' random name suffixes and pod-template-hashes (rand.SafeEncodeString): no vowels,
 * no 0 1 3.
 */
export const KUBE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const C = `[${KUBE_NAME_ALPHABET}]`;
// name-<pod-template-hash>-<5>: the hash is a uint32 in decimal, each digit mapped to the alphabet (1–10 characters;
// fewer than 6 only for hashes below 100000, which are ignored rather than confused with words).
const DEPLOYMENT = new RegExp(`^(.+)-(${C}{6,10})-${C}{5}$`);
// name-<scheduled time in unix minutes>-<5>: the CronJob controller names its Jobs `<cronjob>-<minutes>`.
const CRONJOB = new RegExp(`^(.+)-(\\d{8,10})-${C}{5}$`);
const STATEFULSET = /^(.+)-(0|[1-9]\d{0,8})$/;
const GENERATED = new RegExp(`^(.+)-${C}{5}$`);
const CRONJOB_JOB = /^(.+)-\d{8,10}$/;

/**
 * The workload a Pod's name suggests (Events alone name no owner), or null when the name follows no
 * controller's pattern. Always `inferred: true`. Generated names are at most 63 characters, so a long
 * workload name comes back cut where Kubernetes cut it.
 */
export function inferWorkloadFromPodName(pod: string): Workload | null {
  let m = CRONJOB.exec(pod);
  if (m?.[1]) return { kind: 'CronJob', name: m[1], inferred: true };
  m = DEPLOYMENT.exec(pod);
  if (m?.[1]) return { kind: 'Deployment', name: m[1], inferred: true };
  m = STATEFULSET.exec(pod);
  if (m?.[1]) return { kind: 'StatefulSet', name: m[1], inferred: true };
  m = GENERATED.exec(pod);
  if (m?.[1]) return { kind: AMBIGUOUS_KIND, name: m[1], inferred: true };
  return null;
}

/** The parts of a Pod's metadata that name its owner. */
export interface PodOwnership {
  labels?: Record<string, string> | null;
  ownerReferences?: { kind?: string; name?: string; controller?: boolean }[] | null;
}

/**
 * The workload that controls a Pod, from its controller owner reference, without reading the owner:
 * - a ReplicaSet whose name is `<deployment>-<the Pod's pod-template-hash label>` is a Deployment's
 *   (that label is set by the Deployment controller only), so the Deployment, not inferred;
 * - a Job named `<name>-<unix minutes>` is a CronJob's by the CronJob controller's naming, so the
 *   CronJob, inferred (the Job's own owner is not read);
 * - StatefulSet, DaemonSet, Job, ReplicaSet and other controllers as they are.
 * Null for a Pod without a controller (a bare Pod, a static Pod's mirror names its Node).
 */
export function workloadFromOwners(meta: PodOwnership): Workload | null {
  const refs = meta.ownerReferences ?? [];
  const owner = refs.find((r) => r.controller === true) ?? (refs.length === 1 ? refs[0] : undefined);
  if (!owner?.kind || !owner.name || owner.kind === 'Node') return null;
  if (owner.kind === 'ReplicaSet') {
    const hash = meta.labels?.['pod-template-hash'];
    if (hash && owner.name.endsWith(`-${hash}`) && owner.name.length > hash.length + 1)
      return { kind: 'Deployment', name: owner.name.slice(0, -(hash.length + 1)), inferred: false };
    return { kind: 'ReplicaSet', name: owner.name, inferred: false };
  }
  if (owner.kind === 'Job') {
    const m = CRONJOB_JOB.exec(owner.name);
    if (m?.[1]) return { kind: 'CronJob', name: m[1], inferred: true };
  }
  return { kind: owner.kind, name: owner.name, inferred: false };
}
