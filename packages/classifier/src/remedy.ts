import type { Cause, Subcause } from './taxonomy.ts';

/**
 * Causes that heal without anyone changing the Pod, its secrets or the registry: throttling and
 * outages pass, and the kubelet's image GC frees disk before the next back-off retry.
 */
export const RETRYABLE_CAUSES: ReadonlySet<Cause> = new Set<Cause>([
  'rate_limited',
  'registry_unavailable',
  'node_storage',
]);

const CAUSE_HINTS: Record<Cause, string> = {
  invalid_reference:
    'Fix the image string: lower-case host/path, no URL scheme, one optional :tag and @sha256: digest.',
  not_found:
    'Check the image name and tag (or digest) exist in that registry; it may never have been pushed or was deleted.',
  unauthorized:
    'Set up an imagePullSecret (or node credential provider / workload identity) with pull access to this repository.',
  not_found_or_unauthorized: 'Check the repository name first; if it exists and is private, set up an imagePullSecret.',
  rate_limited: 'Authenticate pulls or mirror the image to a registry you control to avoid the registry rate limit.',
  registry_unavailable:
    'Check the registry is up and reachable from the node (DNS, proxy, firewall, network policy); it usually ' +
    'heals on retry.',
  tls_error: "Fix the registry's TLS setup or make the nodes trust its CA.",
  platform_mismatch:
    "Build a multi-arch image (or one for the node's OS/architecture), or schedule onto matching nodes.",
  node_storage:
    "Free disk on the node: prune unused images, lower the kubelet's image GC thresholds or enlarge the " +
    "runtime's filesystem.",
  pull_policy_never:
    'The image is not on the node and imagePullPolicy is Never, or (Kubernetes 1.35+, credential verification) ' +
    "it is there but this Pod's pull credentials are not the ones it was pulled with: preload the image, give " +
    'the Pod matching imagePullSecrets, or change the pull policy.',
  policy_denied: 'An image or admission policy rejected the image: use an allowed, signed image or update the policy.',
  no_cause: "This message reports a state only; the cause is in the Pod's previous pull failure.",
  unknown: 'Unrecognised pull failure: read the full message and the container runtime logs on the node.',
};

const SUBCAUSE_HINTS: Partial<Record<Subcause, string>> = {
  uppercase: 'Repository names must be lower-case: fix the image string.',
  scheme_prefix: 'Drop the https:// prefix: an image reference is host[:port]/path[:tag].',
  expired_token:
    'The registry token expired: refresh the pull secret (ECR tokens last 12 h) or use a credential provider ' +
    'that renews it.',
  kubelet: "The kubelet's own pull limit: raise registryPullQPS/registryBurst or stagger the rollout.",
  dns: 'The registry host does not resolve from the node: check DNS (node resolvers, CoreDNS, proxy settings).',
  timeout:
    'Requests to the registry time out: check egress from the node (firewall, proxy, network policy); usually ' +
    'heals on retry.',
  connection_refused:
    'Nothing accepts connections at the registry address: check the registry runs and the host/port is ' +
    'reachable from the node.',
  connection_reset: 'The connection to the registry was cut: check proxies and firewalls between node and registry.',
  server_error: 'The registry answered with a server error: check its health or status page and retry later.',
  tls_handshake_timeout:
    'TLS handshakes with the registry do not complete: check the network or proxy between node and registry.',
  eof: 'The registry closed the connection mid-transfer: retry, and check proxies and registry health.',
  unknown_authority:
    "Make the nodes trust the registry's CA (containerd certs.d, /etc/docker/certs.d, CRI-O registries.conf).",
  expired: "Renew the registry's TLS certificate (or fix the node's clock).",
  hostname_mismatch: 'Use the host name the certificate was issued for, or reissue it with the right SANs.',
  http_to_https:
    'The registry speaks plain HTTP: serve TLS, or configure it as an insecure registry/mirror on the nodes.',
  pull_records:
    'The kubelet could not write its image pull record (credential verification, under ' +
    "/var/lib/kubelet/image_manager): check the node's disk — free space, a read-only or failing file system, " +
    "the kubelet root directory's permissions.",
  signature: "Sign the image (cosign/sigstore) or fix the node's signature policy.",
};

export function hintFor(cause: Cause, subcause: Subcause | null): string {
  return (subcause !== null ? SUBCAUSE_HINTS[subcause] : undefined) ?? CAUSE_HINTS[cause];
}
