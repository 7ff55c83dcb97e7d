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
