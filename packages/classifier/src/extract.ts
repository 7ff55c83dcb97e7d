// Finds the image and the registry host a message talks about, by the wrappers each runtime puts
// around its errors. Patterns run on the original text (image strings are case-sensitive).
import { normalizeRegistryHost, parseReference, splitDomain } from './reference.ts';

/**
 * What a finder captures: a pattern (group 1), or a scan where no pattern runs in linear time. Patterns
 * here run on text from outside: none may backtrack more than linearly (adversarial.test.ts feeds each
 * 1 MiB of what it scans over).
 */
type Capture = RegExp | ((message: string) => string | null);

const captureOf = (capture: Capture, message: string): string | null =>
  typeof capture === 'function' ? capture(message) : (capture.exec(message)?.[1] ?? null);

/** A lower-case literal that must occur before the capture is tried, and the capture (the image). */
type Finder = readonly [gate: string, capture: Capture];

/** JavaScript's `\s` (WhiteSpace and LineTerminator), by code. */
function isSpace(code: number): boolean {
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** What `.` does not match (no `s` flag). */
const isLineTerminator = (code: number) => code === 10 || code === 13 || code === 0x2028 || code === 0x2029;

const POLICY_RE = /prohibited by policy: /i;
const PAREN_OR_SPACE_RE = /[()\s]/;

/**
 * `… prohibited by policy: … (image)` with nothing but white space after: what
 * `/prohibited by policy: .*\(([^()\s]+)\)\s*$/i` captured, without its `.*` rescanning the rest of the
 * line from every occurrence of the phrase (quadratic when the phrase repeats).
 */
export function imageDeniedByPolicy(message: string): string | null {
  const end = message.trimEnd().length; // trimEnd trims exactly `\s`
  if (message.charCodeAt(end - 1) !== 0x29) return null;
  const open = message.lastIndexOf('(', end - 2);
  if (open === -1) return null;
  const image = message.slice(open + 1, end - 1);
  if (image === '' || PAREN_OR_SPACE_RE.test(image)) return null;
  let lineStart = open;
  while (lineStart > 0 && !isLineTerminator(message.charCodeAt(lineStart - 1))) lineStart--;
  return POLICY_RE.test(message.slice(lineStart, open)) ? image : null;
}

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
  ['prohibited by policy', imageDeniedByPolicy],
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
  for (const [gate, capture] of finders) {
    if (lower.indexOf(gate) === -1) continue;
    const image = captureOf(capture, message);
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

const PULLING_IMAGE_RE = /error pulling image \(/gi;
const FROM_RE = /\) from ([^\s,]+)/iy;

/**
 * Pre-CRI Docker's `Error pulling image (tag) from name, …`: what `/Error pulling image \([^)]*\) from
 * ([^\s,]+)/i` captured. Every occurrence before the same `)` fails alike, so the scan goes on after it
 * (the pattern rescanned to that `)` from each).
 */
export function nameAfterErrorPullingImage(message: string): string | null {
  PULLING_IMAGE_RE.lastIndex = 0;
  for (let m = PULLING_IMAGE_RE.exec(message); m; m = PULLING_IMAGE_RE.exec(message)) {
    const close = message.indexOf(')', PULLING_IMAGE_RE.lastIndex);
    if (close === -1) return null;
    FROM_RE.lastIndex = close;
    const name = FROM_RE.exec(message)?.[1];
    if (name) return name;
    PULLING_IMAGE_RE.lastIndex = close + 1;
  }
  return null;
}

const NOT_FOUND_RE = /: not found/gi;
const ALNUM_RE = /^[a-z0-9]/i;

/**
 * `host/path: not found` (BuildKit, ctr): the white-space-delimited word before the first `: not found`
 * that starts with a letter or digit, has a `/` after its first character and no `"`; what
 * `/(?:^|\s)([a-z0-9][^\s"]*\/[^\s"]*?): not found/i` captured, in one pass (the pattern tried every `/`
 * of a word against every later position: quadratic in a long word).
 */
export function nameBeforeNotFound(message: string): string | null {
  NOT_FOUND_RE.lastIndex = 0;
  for (let m = NOT_FOUND_RE.exec(message); m; m = NOT_FOUND_RE.exec(message)) {
    // Back to the word's start: the previous match has spaces, so no character is read twice.
    let start = m.index;
    for (let c = message.charCodeAt(start - 1); start > 0 && !isSpace(c) && c !== 0x22; ) {
      start--;
      c = message.charCodeAt(start - 1);
    }
    if (start > 0 && !isSpace(message.charCodeAt(start - 1))) continue; // the word has a `"`
    const name = message.slice(start, m.index);
    if (ALNUM_RE.test(name) && name.indexOf('/', 1) !== -1) return name;
  }
  return null;
}

type HostFinder = readonly [gate: string, capture: Capture, read: (captured: string) => string | null];

const REGISTRY_FINDERS: readonly HostFinder[] = [
  [
    'pinging ',
    /pinging (?:container|docker) registry ([^\s:]+(?::\d+)?)(?::|\s|$)/i,
    (host) => (/[.:]|^localhost$/.test(host) ? hostToRegistry(host) : null),
  ],
  ['reading manifest', /reading manifest \S+ in (\S+)/i, hostOfName],
  ['pulling from host ', /pulling from host (\S+) failed/i, hostToRegistry],
  ['error pulling image (', nameAfterErrorPullingImage, hostOrHubOfName],
  ['fetching manifest ', /fetching manifest (\S+?):\s/i, hostOfName],
  [': not found', nameBeforeNotFound, hostOfName],
];

/** A malformed escape (`%zz`) is not a host either: kept as written, never thrown. */
function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const URL_RE = /https?:\/\/([^/\s"'?\\]+)(\/[^\s"'\\]*)?/gi;
const NS_PARAM_RE = /[?&]ns=([^&\s"'\\]+)/;
const LOOKUP_RE = /(?:lookup|dialing|resolving host) ([a-z0-9.-]+\.[a-z0-9-]+)/i;

/** The registry a message without a usable image talks to: named by a wrapper, or a registry API URL's host. */
export function findRegistryInText(message: string, lower: string): string | null {
  for (const [gate, capture, read] of REGISTRY_FINDERS) {
    if (lower.indexOf(gate) === -1) continue;
    const captured = captureOf(capture, message);
    const host = captured ? read(captured) : null;
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
      if (ns) return hostToRegistry(decodeOrKeep(ns));
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
