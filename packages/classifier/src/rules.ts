import type { Cause, Subcause } from './taxonomy.ts';

/**
 * One piece of evidence. Rules are tried in the order of RULES and the first that matches wins,
 * so the order IS the precedence: the most specific evidence comes first (a 429 beats the
 * `failed to resolve reference` around it, `pull access denied … may require authorization` beats
 * a plain `not found`, x509 beats EOF, a DNS failure beats the i/o timeout it ended in).
 */
export interface Rule {
  id: string;
  cause: Cause;
  subcause: Subcause | null;
  /** Lower-case literals; the rule is only tried when the lower-cased message contains one of them. */
  anyOf: readonly string[];
  /** Confirms the match on the lower-cased message once a literal was seen. */
  pattern?: RegExp;
  /** Only when the registry never serves anonymous pulls (ECR, ACR): missing credentials is then the answer. */
  onlyWhenCredentialsRequired?: boolean;
  /** Only when the pull went to Docker Hub, or the message does not tell where. */
  onlyOnDockerHub?: boolean;
}

const rule = (
  id: string,
  cause: Cause,
  subcause: Subcause | null,
  anyOf: readonly string[],
  pattern?: RegExp,
  extra?: Partial<Rule>,
): Rule => ({
  id,
  cause,
  subcause,
  anyOf,
  ...(pattern ? { pattern } : {}),
  ...extra,
});

export const RULES: readonly Rule[] = [
  // The kubelet's own verdicts name their cause outright.
  rule('never-pull', 'pull_policy_never', null, ['errimageneverpull', 'with pull policy of never']),
  rule('ref-uppercase', 'invalid_reference', 'uppercase', ['must be lowercase']),
  rule('ref-invalid', 'invalid_reference', null, [
    'invalid reference format',
    'invalidimagename',
    "couldn't parse image",
    'failed to apply default image tag',
    'invalid repository name',
    'cannot specify 64-byte hexadecimal',
    'name_invalid',
    'tag_invalid',
    'invalid tag format',
    // CRI-O: a short name and no unqualified-search registries to expand it with.
    'did not resolve to an alias',
  ]),

  // Errors that are not about pulling at all: do not let their words pass for registry evidence.
  rule('runtime-socket', 'unknown', null, ['.sock'], /\.sock\b/),
  rule('runtime-exec', 'unknown', null, ['exec format error', 'executable file not found', 'oci runtime']),
  // The kubelet lost its gRPC connection to the runtime: the registry was never asked.
  rule('runtime-grpc-conn', 'unknown', null, [
    'grpc: the connection is unavailable',
    'error while dialing',
    'all subconns are in transientfailure',
  ]),
  // Creating or starting a container (not pulling its image) failed: its timeouts are the runtime's.
  rule(
    'runtime-container',
    'unknown',
    null,
    ['failed to create container', 'create container failed', 'failed to start container'],
    /^(?![\s\S]*pull)[\s\S]*(?:failed to create container|create container failed|failed to start container)/,
  ),

  rule(
    'policy-signature',
    'policy_denied',
    'signature',
    ['signature'],
    new RegExp(
      'signature (?:was |is )?required|no signatures? (?:exists?|found)|signaturevalidationfailed|' +
        'signature (?:verification|validation) failed|no matching signatures|invalid signature|' +
        'signature not found|unsigned image|image signature',
    ),
  ),
  rule('policy-denied', 'policy_denied', null, [
    'source image rejected',
    'prohibited by policy',
    'rejected by policy',
    'admission webhook',
    'denied the request',
    'violates policy',
    'image policy',
    'imagepolicywebhook',
    'policy violation',
    'blocked by policy',
    'not allowed by policy',
    'image verification failed',
    'failed to verify image',
    'kyverno',
    'gatekeeper',
  ]),

  rule('disk-full', 'node_storage', null, [
    'no space left on device',
    'disk quota exceeded',
    'not enough space on the disk',
    'insufficient disk space',
  ]),
  // The node's disk or file system failed while storing or mounting a layer (EIO, a read-only or corrupt
  // file system, a failed mount of the runtime's scratch directory).
  rule(
    'disk-io',
    'node_storage',
    null,
    ['input/output error', 'read-only file system', 'structure needs cleaning', 'tmpmounts/'],
    /input\/output error|read-only file system|structure needs cleaning|failed to mount \S*tmpmounts\//,
  ),
  // KEP-2535 (on by default since 1.35): before pulling, the kubelet writes an intent record under its root
  // directory (/var/lib/kubelet/image_manager); when that write fails no registry was asked, whatever the
  // file system error's words (`permission denied` is not a registry's).
  rule('pull-intent', 'node_storage', 'pull_records', ['failed to record image pull intent']),
  // The node's own image store failed after the download; the registry is not involved.
  rule('runtime-store', 'unknown', null, [
    'content store',
    'failed to extract layer',
    'extraction snapshot',
    'failed commit on ref',
    'unexpected commit digest',
    'expected at /var/lib',
  ]),

  rule('platform', 'platform_mismatch', null, [
    'no match for platform',
    'no matching manifest for',
    'cannot be used on this platform',
    'does not match the specified platform',
    'no image found in manifest list for architecture',
    'no supported platform found in manifest list',
    'does not match the host operating system',
    'image operating system',
  ]),

  rule('rate-kubelet', 'rate_limited', 'kubelet', ['pull qps exceeded']),
  rule(
    'rate-registry',
    'rate_limited',
    'registry',
    ['toomanyrequests', 'too many requests', 'rate limit', 'rate exceeded', 'throttl', 'quota exceeded', '429'],
    /toomanyrequests|too many requests|rate limit|rate exceeded|throttl|quota exceeded|\b429\b/,
  ),

  rule('tls-http', 'tls_error', 'http_to_https', ['server gave http response to https client']),
  rule('tls-authority', 'tls_error', 'unknown_authority', [
    'unknown authority',
    'self signed certificate',
    'self-signed certificate',
    'unable to get local issuer',
    'certificate is not trusted',
  ]),
  rule('tls-expired', 'tls_error', 'expired', [
    'certificate has expired',
    'expired certificate',
    'certificate is expired',
  ]),
  rule('tls-hostname', 'tls_error', 'hostname_mismatch', [
    'certificate is valid for',
    'certificate is not valid for',
    "doesn't contain any ip sans",
    'legacy common name',
  ]),
  rule(
    'tls-other',
    'tls_error',
    null,
    ['x509', 'tls: ', 'does not look like a tls handshake'],
    /x509|tls: (?!handshake timeout)|does not look like a tls handshake/,
  ),

  // Transport failures: the request never got an answer, whatever wrapper names the step it was in.
  rule(
    'net-dns',
    'registry_unavailable',
    'dns',
    [
      'no such host',
      'name resolution',
      'server misbehaving',
      'lookup ',
      'resolving host',
      'could not resolve host',
      'name or service not known',
    ],
    new RegExp(
      String.raw`no such host|name resolution|server misbehaving|\blookup [^\s:]+(?: on \S+)?: |` +
        'resolving host|could not resolve host|name or service not known',
    ),
  ),
  rule('net-tls-timeout', 'registry_unavailable', 'tls_handshake_timeout', ['tls handshake timeout']),
  // An unreachable network is reported with connection_refused: in both the registry cannot be connected to.
  rule('net-refused', 'registry_unavailable', 'connection_refused', [
    'connection refused',
    'actively refused',
    'no route to host',
    'network is unreachable',
    'host is unreachable',
  ]),
  rule('net-reset', 'registry_unavailable', 'connection_reset', [
    'connection reset',
    'broken pipe',
    'forcibly closed',
    'connection was aborted',
    'server sent goaway',
    'use of closed network connection',
  ]),
  rule('net-timeout', 'registry_unavailable', 'timeout', [
    'i/o timeout',
    'deadline exceeded',
    'deadlineexceeded',
    'timeout exceeded',
    'timed out',
    'request canceled',
    'client.timeout',
    'context canceled',
    'timeout awaiting',
  ]),
  // Pre-CRI Docker gave up on every endpoint without saying why.
  rule('net-no-endpoint', 'registry_unavailable', null, [
    'could not reach any registry endpoint',
    'no available registry endpoint',
  ]),

  // Credentials.
  rule('auth-expired', 'unauthorized', 'expired_token', [
    'token has expired',
    'token expired',
    'expired token',
    'token is expired',
    'credentials have expired',
  ]),
  rule('auth-missing-private', 'unauthorized', null, ['no basic auth credentials'], undefined, {
    onlyWhenCredentialsRequired: true,
  }),
  rule('ambiguous-denied', 'not_found_or_unauthorized', null, [
    'pull access denied',
    'repository does not exist or may require',
    'does not exist or no pull access',
    'or it may not exist',
    "may require 'docker login'",
    // GCR's and Artifact Registry's wordings of the same non-answer.
    'resource may not exist',
    'verify that it exists',
  ]),
  // Docker Hub answers `denied` for repositories that do not exist as for private ones; CRI-O passes it on
  // without Docker's "repository does not exist or may require" around it. Other registries mean it.
  rule(
    'ambiguous-denied-hub',
    'not_found_or_unauthorized',
    null,
    ['requested access to the resource is denied'],
    undefined,
    {
      onlyOnDockerHub: true,
    },
  ),
  rule(
    'auth',
    'unauthorized',
    null,
    [
      'unauthorized',
      'authentication required',
      'no basic auth credentials',
      'denied',
      'forbidden',
      '401',
      '403',
      'insufficient_scope',
      'username',
      'not authorized',
      'authorization failed',
      'authentication failed',
      'auth error',
      'unable to retrieve auth token',
      'permission',
    ],
    new RegExp(
      String.raw`unauthorized|authentication required|no basic auth credentials|denied|forbidden|\b40[13]\b|` +
        'insufficient_scope|invalid username|incorrect username|username or password|not authorized|' +
        'authorization failed|authentication failed|auth error|unable to retrieve auth token|permission',
    ),
  ),

  // Absence.
  rule(
    'not-found',
    'not_found',
    null,
    [
      'manifest unknown',
      'name unknown',
      'blob unknown',
      'manifest_unknown',
      'name_unknown',
      'blob_unknown',
      'not found',
      '404',
      'does not exist',
      'not known to registry',
      'no such image',
    ],
    new RegExp(
      'manifest unknown|name unknown|blob unknown|manifest_unknown|name_unknown|blob_unknown|' +
        String.raw`not found|\b404\b|does not exist|not known to registry|no such image`,
    ),
  ),

  rule('net-eof', 'registry_unavailable', 'eof', ['eof'], /\beof\b/),
  rule(
    'server-error',
    'registry_unavailable',
    'server_error',
    [
      '50',
      'internal server error',
      'bad gateway',
      'service unavailable',
      'gateway time',
      'server error',
      'remote auto blocked',
      'unavailable',
    ],
    new RegExp(
      String.raw`\b5\d\d [a-z(]|(?:status|code|error|http)\W{1,4}(?:code\W{1,3})?5\d\d\b|` +
        'internal server error|bad gateway|service unavailable|gateway time-?out|server error|' +
        String.raw`remote auto blocked|\bunavailable\b`,
    ),
  ),

  // The runtime's gRPC status code, when the detail after it was cut off or says nothing more.
  rule('grpc-not-found', 'not_found', null, ['code = notfound', 'code = 5 desc']),
  rule('grpc-unauthenticated', 'unauthorized', null, [
    'code = unauthenticated',
    'code = 16 desc',
    'code = permissiondenied',
    'code = 7 desc',
  ]),
  rule('grpc-deadline', 'registry_unavailable', 'timeout', ['code = 4 desc']),
  rule('grpc-exhausted', 'rate_limited', 'registry', ['code = resourceexhausted', 'code = 8 desc']),
  rule('grpc-unavailable', 'registry_unavailable', null, ['code = unavailable', 'code = 14 desc']),

  // A state without its cause; the analyzer attributes it to the Pod's last concrete cause.
  rule('state-only', 'no_cause', null, [
    'back-off pulling image',
    'imagepullbackoff',
    'errimagepull',
    'trying and failing to pull image',
    "image can't be pulled",
  ]),
];
