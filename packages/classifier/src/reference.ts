// Image references as github.com/distribution/reference parses them (regexp.go, normalize.go),
// with Docker's normalisation: no host means docker.io, single names get `library/`.

export interface ImageReference {
  /** Normalised registry host: lower-case, port kept, Docker Hub aliases folded into `docker.io`. */
  registry: string;
  /** Path inside the registry, e.g. `library/nginx`. */
  repository: string;
  tag: string | null;
  digest: string | null;
}

export type ReferenceErrorReason =
  | 'empty'
  | 'scheme_prefix'
  | 'uppercase'
  | 'name_too_long'
  | 'tag_invalid'
  | 'digest_invalid'
  | 'hex_identifier'
  | 'invalid_format';

export type ParseReferenceResult =
  | { ok: true; reference: ImageReference }
  | { ok: false; reason: ReferenceErrorReason; message: string };

export const DEFAULT_REGISTRY = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar of regexp.go, spelled out once at load time.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainNameComponent}(?:\\.${domainNameComponent})*|${ipv6address})(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const remoteName = `${pathComponent}(?:/${pathComponent})*`;

const REFERENCE_RE = new RegExp(`^((?:${domainAndPort}/)?${remoteName})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const DOMAIN_RE = new RegExp(`^${domainAndPort}$`);
const TAG_RE = new RegExp(`^${tagPattern}$`);
const HEX64_RE = /^[a-f0-9]{64}$/;
const SCHEME_RE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const LOWER_HEX_RE = /^[a-f0-9]+$/;

function fail(reason: ReferenceErrorReason, message: string): ParseReferenceResult {
  return { ok: false, reason, message };
}

/**
 * splitDockerDomain from normalize.go: the first path component is a host when it has a `.` or `:`,
 * is `localhost`, or has upper-case letters (a lower-case-only name is a Docker Hub namespace).
 */
export function splitDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { domain: DEFAULT_REGISTRY, remainder: name };
  const first = name.slice(0, slash);
  const isHost = first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first;
  if (!isHost) return { domain: DEFAULT_REGISTRY, remainder: name };
  return { domain: first, remainder: name.slice(slash + 1) };
}

/** Lower-case host, Docker Hub aliases folded into `docker.io`. */
export function normalizeRegistryHost(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DEFAULT_REGISTRY : lower;
}

/** Parses an image reference the way `docker pull` / kubelet / containerd would accept it. */
export function parseReference(input: string): ParseReferenceResult {
  const s = input;
  if (s.length === 0) return fail('empty', 'repository name must have at least one component');
  if (SCHEME_RE.test(s))
    return fail('scheme_prefix', 'invalid reference format: a URL scheme is not part of an image reference');
  if (HEX64_RE.test(s))
    return fail('hex_identifier', 'invalid repository name, cannot specify 64-byte hexadecimal strings');

  // Split off the digest and tag first so a `:port` in the host is not taken for a tag.
  let rest = s;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | null = null;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
  }

  const { domain, remainder } = splitDomain(rest);
  if (remainder.toLowerCase() !== remainder) {
    return fail('uppercase', `invalid reference format: repository name (${remainder}) must be lowercase`);
  }
  const full = `${domain}/${remainder}`;
  const candidate = full + (tag !== null ? `:${tag}` : '') + (digest !== null ? `@${digest}` : '');
  if (!REFERENCE_RE.test(candidate)) {
    if (tag !== null && !TAG_RE.test(tag) && REFERENCE_RE.test(full)) return fail('tag_invalid', 'invalid tag format');
    if (domain !== DEFAULT_REGISTRY && !DOMAIN_RE.test(domain))
      return fail('invalid_format', 'invalid reference format: invalid registry host');
    return fail('invalid_format', 'invalid reference format');
  }
  if (full.length > NAME_TOTAL_LENGTH_MAX) {
    return fail('name_too_long', `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (digest !== null) {
    const colon = digest.indexOf(':');
    const algorithm = digest.slice(0, colon);
    const hex = digest.slice(colon + 1);
    const expected = DIGEST_HEX_LENGTH[algorithm];
    if (expected === undefined || hex.length !== expected || !LOWER_HEX_RE.test(hex)) {
      return fail('digest_invalid', 'invalid digest format');
    }
  }

  const registry = normalizeRegistryHost(domain);
  const repository = registry === DEFAULT_REGISTRY && !remainder.includes('/') ? `library/${remainder}` : remainder;
  return { ok: true, reference: { registry, repository, tag, digest } };
}

/** `registry/repository[:tag][@digest]`, the fully qualified form containerd prints. */
export function formatReference(ref: ImageReference): string {
  const tag = ref.tag !== null ? `:${ref.tag}` : '';
  const digest = ref.digest !== null ? `@${ref.digest}` : '';
  return `${ref.registry}/${ref.repository}${tag}${digest}`;
}
