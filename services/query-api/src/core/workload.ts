/**
 * The workload a Pod belongs to, inferred from its name while no stored owner is known.
 *
 * Kubernetes names controller-made Pods predictably: a random 5-character suffix from the alphabet
 * `bcdfghjklmnpqrstvwxz2456789` (apimachinery's utilrand, no vowels, no 0, 1, 3), after the
 * ReplicaSet's pod-template-hash for a Deployment (the same alphabet, 5-10 characters). Holding to
 * that alphabet keeps `kube-proxy-9fz5w` a DaemonSet/Job `kube-proxy`, not a Deployment `kube`.
 * The patterns, tried in this order:
 *
 * | Pod name                         | workload                          |
 * | -------------------------------- | --------------------------------- |
 * | `name-<8+ digits>-<5 random>`    | CronJob `name` (the Job is `name-<scheduled minute>`) |
 * | `name-<hash: 5-10 of the same alphabet>-<5 random>` | Deployment `name` (ReplicaSet `name-<hash>`) |
 * | `name-<5 random>`                | Job or DaemonSet `name` (the name cannot tell them apart) |
 * | `name-<ordinal>`                 | StatefulSet `name`                |
 *
 * Anything else (a bare Pod, a name a person chose) is null: never guessed.
 */
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'CronJob' | 'JobOrDaemonSet';

export interface Workload {
  kind: WorkloadKind | string;
  name: string;
  /** True when read off the Pod name; false when the collector stored the owner. */
  inferred: boolean;
}

const SAFE = '[bcdfghjklmnpqrstvwxz2456789]';
const RANDOM = `${SAFE}{5}`;
const PATTERNS: [RegExp, WorkloadKind][] = [
  [new RegExp(`^(.+)-\\d{8,}-${RANDOM}$`), 'CronJob'],
  [new RegExp(`^(.+)-${SAFE}{5,10}-${RANDOM}$`), 'Deployment'],
  [new RegExp(`^(.+)-${RANDOM}$`), 'JobOrDaemonSet'],
  [/^(.+)-(0|[1-9]\d{0,5})$/, 'StatefulSet'],
];

/** The workload inferred from a Pod name, or null when the name follows no controller's pattern. */
export function inferWorkload(pod: string): Workload | null {
  for (const [re, kind] of PATTERNS) {
    const m = re.exec(pod);
    if (m?.[1]) return { kind, name: m[1], inferred: true };
  }
  return null;
}

/**
 * The workload of a row: the stored owner when the collector recorded one (a later migration adds
 * `workload_kind`/`workload_name`; empty until then), else inferred from the Pod name.
 */
export function workloadOf(row: { pod: string; workloadKind?: string; workloadName?: string }): Workload | null {
  if (row.workloadName) return { kind: row.workloadKind || 'unknown', name: row.workloadName, inferred: false };
  return inferWorkload(row.pod);
}
