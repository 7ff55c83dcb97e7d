import type { ImageReference } from './reference.ts';

export const CAUSES = [
  'invalid_reference',
  'not_found',
  'unauthorized',
  'not_found_or_unauthorized',
  'rate_limited',
  'registry_unavailable',
  'tls_error',
  'platform_mismatch',
  'node_storage',
  'pull_policy_never',
  'policy_denied',
  'no_cause',
  'unknown',
] as const;
export type Cause = (typeof CAUSES)[number];

/** Refinements per cause; any other cause has subcause null. */
export const SUBCAUSES = {
  invalid_reference: ['uppercase', 'scheme_prefix', 'name_too_long'],
  unauthorized: ['expired_token'],
  rate_limited: ['registry', 'kubelet'],
  registry_unavailable: [
    'dns',
    'timeout',
    'connection_refused',
    'connection_reset',
    'server_error',
    'tls_handshake_timeout',
    'eof',
  ],
  tls_error: ['unknown_authority', 'expired', 'hostname_mismatch', 'http_to_https'],
  policy_denied: ['signature'],
  node_storage: ['pull_records'],
} as const satisfies Partial<Record<Cause, readonly string[]>>;
export type Subcause = (typeof SUBCAUSES)[keyof typeof SUBCAUSES][number];

export const PROVIDERS = [
  'docker_hub',
  'ghcr',
  'quay',
  'gcr',
  'artifact_registry',
  'ecr',
  'ecr_public',
  'acr',
  'mcr',
  'k8s_registry',
  'self_hosted',
] as const;
export type Provider = (typeof PROVIDERS)[number];

export interface ClassifyInput {
  /** The event `message` (core/v1) or `note` (events.k8s.io/v1), or a container waiting message. */
  message: string;
  /** The event reason (`Failed`, `BackOff`, `InspectFailed`, `ErrImageNeverPull`…), when known. */
  reason?: string | null;
  /** The container's image when the caller knows it; used only when the message names none. */
  image?: string | null;
}

export interface Classification {
  cause: Cause;
  subcause: Subcause | null;
  /** The image as written in the message; else the caller's `image` hint; else null. */
  image: string | null;
  /** `image` parsed and normalised; null when absent or unparsable. */
  reference: ImageReference | null;
  /** Whether `image` parses as a reference; null when there is no image. */
  referenceValid: boolean | null;
  /**
   * Normalised registry host the pull went to, or null when the message does not tell. Best effort
   * when `image` does not parse: the host its text names, or `docker.io` when it has no host part.
   */
  registry: string | null;
  provider: Provider | null;
  /** True when the failure usually heals without anyone changing the Pod or the registry. */
  retryable: boolean;
  hint: string;
}

/** What the rest of pullwatch decides per cause; one table, so a new cause does not compile until each is decided. */
export interface CauseTraits {
  /** A diagnosis of its own: `no_cause` and `unknown` take the last concrete cause of the same Pod instead. */
  concrete: boolean;
  /** `image`: belongs to one image (a typo, a removed tag, no build for the platform), not to the registry. */
  scope: 'image' | 'registry';
  /** Counts against Docker Hub's pull quota although the pull failed (the manifest was fetched first). */
  quotaCounted: boolean;
}

export const CAUSE_TRAITS = {
  invalid_reference: { concrete: true, scope: 'image', quotaCounted: false },
  not_found: { concrete: true, scope: 'image', quotaCounted: false },
  unauthorized: { concrete: true, scope: 'registry', quotaCounted: false },
  not_found_or_unauthorized: { concrete: true, scope: 'image', quotaCounted: false },
  rate_limited: { concrete: true, scope: 'registry', quotaCounted: false },
  registry_unavailable: { concrete: true, scope: 'registry', quotaCounted: false },
  tls_error: { concrete: true, scope: 'registry', quotaCounted: false },
  // Docker Hub counts the manifest GET that came before the disk or the platform broke the pull.
  platform_mismatch: { concrete: true, scope: 'image', quotaCounted: true },
  node_storage: { concrete: true, scope: 'registry', quotaCounted: true },
  pull_policy_never: { concrete: true, scope: 'image', quotaCounted: false },
  policy_denied: { concrete: true, scope: 'image', quotaCounted: false },
  no_cause: { concrete: false, scope: 'registry', quotaCounted: false },
  unknown: { concrete: false, scope: 'registry', quotaCounted: false },
} as const satisfies Record<Cause, CauseTraits>;

const traitsOf = (cause: string): CauseTraits | undefined =>
  Object.hasOwn(CAUSE_TRAITS, cause) ? CAUSE_TRAITS[cause as Cause] : undefined;

/** A known cause that is a diagnosis of its own (not `no_cause`, `unknown`, empty or a stranger). */
export function isConcreteCause(cause: string): cause is Cause {
  return traitsOf(cause)?.concrete === true;
}

/** A known cause that belongs to one image rather than to its registry. */
export function isImageCause(cause: string): cause is Cause {
  return traitsOf(cause)?.scope === 'image';
}

/** Failures that count against Docker Hub's quota although the pull failed. */
export const QUOTA_COUNTED_CAUSES: readonly Cause[] = CAUSES.filter((c) => CAUSE_TRAITS[c].quotaCounted);

/**
 * Subcauses of a QUOTA_COUNTED cause whose failure came before any request to the registry: the kubelet
 * could not write its pull intent record (KEP-2535), so Docker Hub counted nothing.
 */
export const QUOTA_UNCOUNTED_SUBCAUSES: readonly Subcause[] = ['pull_records'];
