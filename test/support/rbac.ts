/** A rule of a Kubernetes Role or ClusterRole, as rendered. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Every permission the rules grant, one `group/resource:verb` each (`core` for the '' group), sorted. */
export function grantsOf(rules: readonly PolicyRule[]): string[] {
  return rules
    .flatMap((r) =>
      r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g || 'core'}/${res}:${v}`))),
    )
    .sort();
}

/** Read access (get, list and watch) to each `group/resource`, as `grantsOf` writes it. */
export function readGrants(...resources: string[]): string[] {
  return resources.flatMap((r) => ['get', 'list', 'watch'].map((v) => `${r}:${v}`)).sort();
}
