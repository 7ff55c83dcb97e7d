// Finds the image and the registry host a message talks about, by the wrappers each runtime puts
// around its errors. Patterns run on the original text (image strings are case-sensitive).
import { normalizeRegistryHost, parseReference, splitDomain } from './reference.ts';

/** A lower-case literal that must occur before the pattern is tried, and the pattern (group 1 = image). */
type Finder = readonly [gate: string, pattern: RegExp];

// Earlier finders are closer to what the user wrote: the kubelet quotes the Pod's image verbatim,
// the runtime quotes its normalised form.
const IMAGE_FINDERS: readonly Finder[] = [
  [
    'image \\"',
    new RegExp(
      '(?:failed to pull|back-off pulling|pulling|successfully pulled|failed to inspect|' +
        String.raw`failed to get sandbox) image \\"([^"\\]*)\\"`,
      'i',
    ),
  ],
  [
    'image "',
    new RegExp(
      '(?:failed to pull|back-off pulling|pulling|successfully pulled|failed to inspect|' +
        'failed to get sandbox) image "([^"]*)"',
      'i',
    ),
  ],
  ['container image', /Container image \\?"([^"\\]*)\\?"/],
  ['default image tag', /default image tag \\?"([^"\\]*)\\?"/i],
  ['pullimage "', /PullImage \\?"([^"\\]*)\\?"/],
  ['image=', /\bimage=\\?"([^"\\]*)\\?"/],
  ['failed to pull and unpack image', /failed to pull and unpack image \\?"([^"\\]*)\\?"/i],
  ['failed to resolve reference', /failed to resolve reference \\?"([^"\\]*)\\?"/i],
  ['initializing source docker://', /initializing source docker:\/\/(\S+?):(?:\s|$)/],
  ['running image docker://', /Running image docker:\/\/(\S+?) is rejected/i],
  ['pull access denied for ', /pull access denied for ([^\s,]+),/i],
  ['manifest for ', /manifest for (\S+) not found/i],
  ['repository ', /repository (\S+) not found/i],
  ['prohibited by policy', /prohibited by policy: .*\(([^()\s]+)\)\s*$/i],
];

// Rarer wrappers, tried only when one scan finds one of their gates.
const LATE_IMAGE_FINDERS: readonly Finder[] = [
  // The kubelet's and the runtimes' other wrappers, newest first.
  ['parse image ', /couldn't parse image (?:reference|name) \\?"([^"\\]*)\\?"/i],
  ['image pull failed for ', /image pull failed for ([^\s,]+),/i],
  // kubeadm's preflight and crictl quote nothing: `failed to pull image registry.k8s.io/x:1: output: …`.
  ['failed to pull image ', /failed to pull image ([a-z0-9][^\s"]*?):\s/i],
  ['failed to resolve ref ', /failed to resolve ref ([^\s"]+?):(?:\s|$)/i],
  ['no such image: ', /no such image: ([^\s]+?)(?::\s|$)/i],
  // Pre-CRI Docker (v1 registry protocol).
  ['not found in repository ', /not found in repository (\S+)/i],
  ['error: image ', /Error: image (\S+) not found/i],
  ['pulling repository ', /Pulling repository (\S+)/i],
  ['error pulling ', /Error pulling ([a-z0-9][^\s"]*?):\s/i],
  // BuildKit and ctr put the reference first: `host/repo:tag: failed to …`.
  [': failed to ', /^"?([a-z0-9][\w.:-]*\/[^\s"]*?)"?: failed to /i],
];

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const LATE_GATES_RE = new RegExp(LATE_IMAGE_FINDERS.map(([gate]) => escapeRe(gate)).join('|'));

function tryFinders(finders: readonly Finder[], message: string, lower: string): string | null {
  for (const [gate, pattern] of finders) {
    if (lower.indexOf(gate) === -1) continue;
    const m = pattern.exec(message);
    const image = m?.[1];
    if (image && image !== '...' && image !== '…') return image;
  }
  return null;
}

export function findImage(message: string, lower: string): string | null {
  return (
    tryFinders(IMAGE_FINDERS, message, lower) ??
    (LATE_GATES_RE.test(lower) ? tryFinders(LATE_IMAGE_FINDERS, message, lower) : null)
  );
}

// Redaction placeholders (`<id>`, `<PROJECT_ID>`) stand for a valid word in messages people share.
const PLACEHOLDER_RE = /<[^<>\s]*>/g;
const HOST_RE =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[a-f0-9:]+\])(?::[0-9]+)?$/;

const SCHEME_PREFIX_RE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The registry an image string names, best effort: parsed when it parses; otherwise the host its
 * text names (after a `https://` or `docker://` prefix, whatever the case of the path, trailing `:`
 * or `${…}` template), or `docker.io` when its first component is not a host. Null when not even
 * that can be told (empty, or a leading `/`).
 */
export function registryOfImage(image: string): string | null {
  const parsed = parseReference(image);
  if (parsed.ok) return parsed.reference.registry;
  const name = image.trim().replace(SCHEME_PREFIX_RE, '');
  if (name === '' || name.startsWith('/')) return null;
  const slash = name.indexOf('/');
  if (slash === -1) return 'docker.io';
  const first = name.slice(0, slash);
  const isHost = first.includes('.') || first.includes(':') || first === 'localhost';
  if (!isHost) return 'docker.io';
  return hostToRegistry(first);
}

// Hosts that serve Docker Hub (API, auth and blob CDN).
const DOCKER_HUB_HOSTS = new Set([
  'production.cloudflare.docker.com',
  'auth.docker.io',
  'hub.docker.com',
  'registry.hub.docker.com',
  'index.docker.io',
  'registry-1.docker.io',
]);

function hostToRegistry(host: string): string | null {
  const lower = host.toLowerCase();
  if (DOCKER_HUB_HOSTS.has(lower)) return 'docker.io';
  if (!HOST_RE.test(lower.replace(PLACEHOLDER_RE, 'x'))) return null;
  return normalizeRegistryHost(lower);
}

/** `host/path…` → host, when the first component is a host rather than a Docker Hub namespace. */
function hostOfName(name: string): string | null {
  if (!name.includes('/')) return null;
  const { domain, remainder } = splitDomain(name);
  if (remainder === name) return null;
  return hostToRegistry(domain);
}

/** Like hostOfName, but a repository name without a host part is Docker Hub's (pre-CRI Docker names it so). */
function hostOrHubOfName(name: string): string | null {
  return hostOfName(name) ?? (parseReference(name).ok ? 'docker.io' : null);
}

type HostFinder = readonly [gate: string, pattern: RegExp, read: (m: RegExpExecArray) => string | null];

const REGISTRY_FINDERS: readonly HostFinder[] = [
  [
    'pinging ',
    /pinging (?:container|docker) registry ([^\s:]+(?::\d+)?)(?::|\s|$)/i,
    (m) => (m[1] && /[.:]|^localhost$/.test(m[1]) ? hostToRegistry(m[1]) : null),
  ],
  ['reading manifest', /reading manifest \S+ in (\S+)/i, (m) => hostOfName(m[1] ?? '')],
  ['pulling from host ', /pulling from host (\S+) failed/i, (m) => hostToRegistry(m[1] ?? '')],
  ['error pulling image (', /Error pulling image \([^)]*\) from ([^\s,]+)/i, (m) => hostOrHubOfName(m[1] ?? '')],
  ['fetching manifest ', /fetching manifest (\S+?):\s/i, (m) => hostOfName(m[1] ?? '')],
  [': not found', /(?:^|\s)([a-z0-9][^\s"]*\/[^\s"]*?): not found/i, (m) => hostOfName(m[1] ?? '')],
];

const URL_RE = /https?:\/\/([^/\s"'?\\]+)(\/[^\s"'\\]*)?/gi;
const NS_PARAM_RE = /[?&]ns=([^&\s"'\\]+)/;
const LOOKUP_RE = /(?:lookup|dialing|resolving host) ([a-z0-9.-]+\.[a-z0-9-]+)/i;

/** The registry a message without a usable image talks to: named by a wrapper, or a registry API URL's host. */
export function findRegistryInText(message: string, lower: string): string | null {
  for (const [gate, pattern, read] of REGISTRY_FINDERS) {
    if (lower.indexOf(gate) === -1) continue;
    const m = pattern.exec(message);
    const host = m ? read(m) : null;
    if (host) return host;
  }
  if (lower.indexOf('://') !== -1) {
    URL_RE.lastIndex = 0;
    for (let m = URL_RE.exec(message); m; m = URL_RE.exec(message)) {
      const host = m[1] ?? '';
      const path = m[2];
      if (path === undefined) continue; // `https://<account number>.…` cut at a space: not a URL.
      // A containerd mirror names the upstream registry in `?ns=`.
      const ns = NS_PARAM_RE.exec(path)?.[1];
      if (ns) return hostToRegistry(decodeURIComponent(ns));
      const hubHost = DOCKER_HUB_HOSTS.has(host.toLowerCase()) || path.startsWith('/registry-v2/docker/');
      if (hubHost) return 'docker.io';
      if (path.startsWith('/v2/') || path === '/v2' || path.startsWith('/v1/')) {
        const registry = hostToRegistry(host);
        if (registry) return registry;
      }
    }
  }
  if (lower.indexOf('lookup ') !== -1 || lower.indexOf('dialing ') !== -1 || lower.indexOf('resolving host') !== -1) {
    const m = LOOKUP_RE.exec(message);
    if (m?.[1]) return hostToRegistry(m[1]);
  }
  return null;
}
