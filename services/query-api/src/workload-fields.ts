import { z } from 'zod';

/** The Pod's workload and team on failure and stuck-Pod items (stored since migration 0006). */
export const WorkloadTeamFields = {
  workload: z
    .object({
      kind: z
        .string()
        .describe(
          'Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, another controller, or "DaemonSet|Job" ' +
            'when a name cannot tell',
        ),
      name: z.string(),
      inferred: z.boolean().describe("true: read from the Pod's name, not its ownerReferences"),
    })
    .nullable()
    .describe('The controlling workload, or null when none is known'),
  team: z.string().nullable().describe("The team label of the Pod's Namespace, or null when unknown"),
};

/**
 * The stored workload columns as the API shows them: null without a workload; team '' (unknown) as
 * null. `inferred`: read from the Pod's name rather than its owner references (migration 0006).
 */
export function workloadFields(r: Record<string, unknown>) {
  return {
    workload: r.workload_kind
      ? {
          kind: String(r.workload_kind),
          name: String(r.workload_name ?? ''),
          inferred: r.workload_inferred === true || r.workload_inferred === 1,
        }
      : null,
    team: r.team ? String(r.team) : null,
  };
}
