import type { ScenarioIncident } from './scenario.ts';

export type Runtime = 'containerd' | 'cri-o';

/** Docker's normalisation, enough for the simulator's own images: host, repository path, tag. */
export function splitImage(image: string): { host: string; path: string; tag: string; full: string } {
  const at = image.lastIndexOf(':');
  const slash = image.indexOf('/');
  const hasTag = at > image.lastIndexOf('/');
  const name = hasTag ? image.slice(0, at) : image;
  const tag = hasTag ? image.slice(at + 1) : 'latest';
  const first = slash === -1 ? '' : name.slice(0, slash);
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
  const host = hasHost ? first : 'docker.io';
  let path = hasHost ? name.slice(slash + 1) : name;
  if (host === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return { host, path, tag, full: `${host}/${path}:${tag}` };
}

const apiHost = (host: string) => (host === 'docker.io' ? 'registry-1.docker.io' : host);
const digest = (seed: string) => {
  let h = 2166136261;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(8);
};

/** What the incident adds to its message: the Docker Hub account a per-account 429 names, and its token id. */
export interface DetailOptions {
  account?: string | undefined;
  /** `dckr_jti_…`: redacted by the collector before anything is stored or logged. */
  tokenId?: string | undefined;
}

/**
 * The registry's own words for the 2026 message families (each as in
 * packages/classifier/test-fixtures/registries-2026-messages.jsonl, with its source there).
 */
function registryWords(
  kind: ScenarioIncident['kind'],
  r: ReturnType<typeof splitImage>,
  o: DetailOptions,
): string | null {
  switch (kind) {
    case 'dockerhub_account_rate_limit':
      return (
        `toomanyrequests: You have reached your pull rate limit as '${o.account ?? 'ci-bot'}': ` +
        `${o.tokenId ?? 'dckr_jti_AAAAAAAAAAAAAAAAAAAAAAAAAAA='}. You may increase the limit by upgrading. ` +
        `https://www.docker.com/increase-rate-limit`
      );
    case 'dockerhub_abuse_limit':
      return `error parsing HTTP 429 response body: invalid character 'T' looking for beginning of value: "Too Many Requests (HAP429)"`;
    case 'registry_rate_limit':
      if (r.host === 'ghcr.io') return 'toomanyrequests: retry-after: 880.092µs, allowed: 44000/minute';
      if (r.host.endsWith('docker.pkg.dev') || r.host === 'gcr.io' || r.host.endsWith('.gcr.io'))
        return (
          `TOOMANYREQUESTS: Quota exceeded for quota metric 'Requests per project per region' and limit ` +
          `'Requests per project per region per minute per region' of service 'artifactregistry.googleapis.com' ` +
          `for consumer 'project_number:388270116193'.`
        );
      if (r.host.endsWith('.azurecr.io') || r.host === 'mcr.microsoft.com')
        return (
          'toomanyrequests: Too many requests. Please visit https://aka.ms/acr/skus#sku-feature-matrix to view ' +
          'limits of all service tiers.'
        );
      return 'unexpected status code 429 Too Many Requests';
    case 'ecr_expired_token':
      return 'denied: Your authorization token has expired. Reauthenticate and try again.';
    case 'registry_unauthorized':
      return r.host === 'quay.io'
        ? 'unauthorized: access to the requested resource is not authorized'
        : `unauthorized: unauthorized to access repository: ${r.path}, action: pull: unauthorized to access ` +
            `repository: ${r.path}, action: pull`;
    case 'proxy_not_found':
      // Harbor's proxy cache, its upstream refused: "not found" for what it has not cached (goharbor/harbor#23750).
      return `unknown: repository ${r.path} not found`;
    default:
      return null;
  }
}

/**
 * What kubelet prints after `Failed to pull image "X": ` for each kind of incident, per runtime —
 * modelled on the messages real runtimes print (see the shared corpus), with Docker Hub's 2025 wording of
 * the anonymous limit and the registries' 2026 words.
 */
export function pullErrorDetail(
  kind: ScenarioIncident['kind'],
  image: string,
  runtime: Runtime,
  opts: DetailOptions = {},
): string {
  const r = splitImage(image);
  const ref = r.full;
  const manifestUrl = `https://${apiHost(r.host)}/v2/${r.path}/manifests/${r.tag}`;
  const words = registryWords(kind, r, opts);
  if (words !== null)
    return runtime === 'cri-o'
      ? `rpc error: code = Unknown desc = initializing source docker://${ref}: reading manifest ${r.tag} in ` +
          `${r.host}/${r.path}: ${words}`
      : `rpc error: code = Unknown desc = failed to pull and unpack image "${ref}": failed to resolve reference ` +
          `"${ref}": ${words}`;
  if (runtime === 'cri-o') {
    switch (kind) {
      case 'typo':
        return (
          `rpc error: code = Unknown desc = initializing source docker://${ref}: reading ` +
          `manifest ${r.tag} in ${r.host}/${r.path}: requested access to the resource is denied`
        );
      case 'tag_removed':
        return (
          `rpc error: code = Unknown desc = reading manifest ${r.tag} in ${r.host}/${r.path}: manifest ` +
          `unknown: manifest unknown`
        );
      case 'missing_pull_secret':
        return (
          `rpc error: code = Unknown desc = reading manifest ${r.tag} in ${r.host}/${r.path}: ` +
          `unauthorized: authentication required`
        );
      case 'dockerhub_rate_limit':
        return (
          `rpc error: code = Unknown desc = initializing source docker://${ref}: reading ` +
          `manifest ${r.tag} in ${r.host}/${r.path}: toomanyrequests: You have reached your unauthenticated pull ` +
          `rate limit. https://www.docker.com/increase-rate-limit`
        );
      case 'registry_outage':
        return (
          `rpc error: code = Unknown desc = initializing source docker://${ref}: pinging container ` +
          `registry ${r.host}: received unexpected HTTP status: 503 Service Unavailable`
        );
      case 'dns_failure':
        return (
          `rpc error: code = Unknown desc = pinging container registry ${r.host}: Get ` +
          `"https://${apiHost(r.host)}/v2/": dial tcp: lookup ${apiHost(r.host)}: no such host`
        );
      case 'arch_mismatch':
        return (
          `rpc error: code = Unknown desc = choosing image instance: no image found in manifest list for ` +
          `architecture arm64, variant "v8", OS linux`
        );
      case 'disk_full':
        return (
          `rpc error: code = Unknown desc = writing blob: storing blob to file ` +
          `"/var/tmp/storage${digest(ref).slice(0, 9)}/1": write /var/tmp/storage${digest(ref).slice(0, 9)}/1: ` +
          `no space left on device`
        );
    }
  }
  const resolve = `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}"`;
  switch (kind) {
    case 'typo':
      return (
        `rpc error: code = Unknown desc = ${resolve}: pull access denied, repository does not exist or ` +
        `may require authorization: server message: insufficient_scope: authorization failed`
      );
    case 'tag_removed':
      return `rpc error: code = NotFound desc = ${resolve}: ${ref}: not found`;
    case 'missing_pull_secret':
      return (
        `rpc error: code = Unknown desc = ${resolve}: failed to authorize: failed to fetch anonymous ` +
        `token: unexpected status from GET request to ` +
        `https://${r.host}/service/token?scope=repository%3A${encodeURIComponent(r.path)}%3Apull&service=${r.host}: ` +
        `401 Unauthorized`
      );
    case 'dockerhub_rate_limit':
      return (
        `rpc error: code = Unknown desc = failed to pull and unpack image "${ref}": failed to copy: ` +
        `httpReadSeeker: failed open: unexpected status code ${manifestUrl}: 429 Too Many Requests - Server ` +
        `message: toomanyrequests: You have reached your unauthenticated pull rate limit. ` +
        `https://www.docker.com/increase-rate-limit`
      );
    case 'registry_outage':
      return (
        `rpc error: code = Unknown desc = ${resolve}: unexpected status from HEAD request ` +
        `to ${manifestUrl}: 503 Service Unavailable`
      );
    case 'dns_failure':
      return (
        `rpc error: code = Unknown desc = ${resolve}: failed to do request: Head "${manifestUrl}": dial ` +
        `tcp: lookup ${apiHost(r.host)} on 10.96.0.10:53: no such host`
      );
    case 'arch_mismatch':
      return (
        `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": no match for ` +
        `platform in manifest: not found`
      );
    case 'disk_full':
      return (
        `rpc error: code = Unknown desc = failed to pull and unpack image "${ref}": failed to extract ` +
        `layer sha256:${digest(ref)}: write ` +
        `/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/412/fs/usr/lib/libLLVM.so: no ` +
        `space left on device: unknown`
      );
  }
  // The 2026 families returned their registry's words above.
  throw new Error(`no message for incident kind ${kind}`);
}

export const kubeletMessages = {
  pulling: (image: string) => `Pulling image "${image}"`,
  failed: (image: string, detail: string) => `Failed to pull image "${image}": ${detail}`,
  errImagePull: () => 'Error: ErrImagePull',
  backOff: (image: string) => `Back-off pulling image "${image}"`,
  imagePullBackOff: () => 'Error: ImagePullBackOff',
  pulled: (image: string, seconds: number, bytes: number) =>
    `Successfully pulled image "${image}" in ${seconds.toFixed(3)}s (${seconds.toFixed(3)}s including ` +
    `waiting). Image size: ${bytes} bytes.`,
  // Kubernetes 1.35: credential verification (KEP-2535) is on by default, and the container Events no longer
  // name the container (kubernetes/kubernetes#134043; it is in the Event's fieldPath).
  alreadyPresent: (image: string) =>
    `Container image "${image}" already present on machine and can be accessed by the pod`,
  created: () => 'Container created',
  started: () => 'Container started',
};
