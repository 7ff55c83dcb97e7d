import type { Provider } from './taxonomy.ts';

const EXACT: Record<string, Provider> = {
  'docker.io': 'docker_hub',
  'ghcr.io': 'ghcr',
  'quay.io': 'quay',
  'gcr.io': 'gcr',
  'public.ecr.aws': 'ecr_public',
  'mcr.microsoft.com': 'mcr',
  'registry.k8s.io': 'k8s_registry',
  // The Kubernetes project's registry before registry.k8s.io; it lived on GCR but is run as the project's.
  'k8s.gcr.io': 'k8s_registry',
};

const ECR_RE = /^[^.]+\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;

/** Who runs a normalised registry host (port ignored). */
export function providerOf(registry: string): Provider {
  const colon = registry.lastIndexOf(':');
  const host = colon > registry.lastIndexOf(']') ? registry.slice(0, colon) : registry;
  const exact = EXACT[host];
  if (exact) return exact;
  if (host.endsWith('.gcr.io')) return 'gcr';
  if (host.endsWith('-docker.pkg.dev') || host === 'docker.pkg.dev') return 'artifact_registry';
  if (host.endsWith('.azurecr.io') || host.endsWith('.azurecr.cn') || host.endsWith('.azurecr.us')) return 'acr';
  if (ECR_RE.test(host)) return 'ecr';
  return 'self_hosted';
}

/** Registries where an anonymous pull never works, so missing credentials is the answer, not an ambiguity. */
export function requiresCredentials(provider: Provider | null): boolean {
  return provider === 'ecr' || provider === 'acr';
}
