import { describe, expect, it } from 'vitest';
import { classify } from './classify.ts';
import { hintFor } from './remedy.ts';
import { CAUSES } from './taxonomy.ts';

const c = (message: string, extra: { reason?: string; image?: string } = {}) => classify({ message, ...extra });

describe('precedence: the most specific evidence wins', () => {
  it('a 429 inside a resolve wrapper is rate limiting', () => {
    const r = c(
      'Failed to pull image "x/y:1": failed to pull and unpack image "docker.io/x/y:1": failed to resolve ' +
        'reference "docker.io/x/y:1": unexpected status from HEAD request to ' +
        'https://registry-1.docker.io/v2/x/y/manifests/1: 429 Too Many Requests',
    );
    expect([r.cause, r.subcause, r.retryable]).toEqual(['rate_limited', 'registry', true]);
  });
  it('the ambiguous pull access denied beats a plain not found or denied', () => {
    expect(
      c(
        'Error response from daemon: pull access denied for foo/bar, repository does not exist or may require ' +
          "'docker login': denied: requested access to the resource is denied",
      ).cause,
    ).toBe('not_found_or_unauthorized');
  });
  it('an expired token beats the ambiguous phrase', () => {
    expect(
      c(
        'pull access denied for 1.dkr.ecr.us-east-2.amazonaws.com/test, repository does not exist or may ' +
          "require 'docker login': denied: Your authorization token has expired. Reauthenticate and try again.",
      ),
    ).toMatchObject({ cause: 'unauthorized', subcause: 'expired_token' });
  });
  it('missing credentials on a registry that never serves anonymous pulls is unauthorized', () => {
    const msg =
      'failed to resolve reference "1.dkr.ecr.eu-west-1.amazonaws.com/app:1": pull access denied, repository ' +
      'does not exist or may require authorization: authorization failed: no basic auth credentials';
    expect(c(msg).cause).toBe('unauthorized');
    expect(c(msg.replaceAll('1.dkr.ecr.eu-west-1.amazonaws.com', 'docker.io/library')).cause).toBe(
      'not_found_or_unauthorized',
    );
  });
  it('x509 beats EOF', () => {
    expect(c('Get "https://r.example/v2/": x509: certificate signed by unknown authority (EOF)')).toMatchObject({
      cause: 'tls_error',
      subcause: 'unknown_authority',
    });
  });
  it('a DNS failure beats the i/o timeout it ended in', () => {
    expect(
      c('dial tcp: lookup registry.svc on 10.0.0.10:53: read udp 10.1.1.1:1->10.0.0.10:53: i/o timeout'),
    ).toMatchObject({ cause: 'registry_unavailable', subcause: 'dns', registry: 'registry.svc' });
  });
  it('a transport failure while fetching a token is not an auth failure', () => {
    expect(
      c(
        'failed to authorize: failed to fetch anonymous token: Get "https://auth.docker.io/token?scope=x": ' +
          'dial tcp 1.2.3.4:443: i/o timeout',
      ),
    ).toMatchObject({ cause: 'registry_unavailable', subcause: 'timeout', registry: 'docker.io' });
  });
  it('the docker API 500 wrapper yields to what it wraps', () => {
    expect(c('API error (500): Get https://r.example/v2/a/manifests/latest: no basic auth credentials').cause).toBe(
      'unauthorized',
    );
  });
  it('a platform mismatch that containerd reports as not found is a platform mismatch', () => {
    expect(
      c('failed to pull and unpack image "docker.io/a/b:1": no match for platform in manifest: not found').cause,
    ).toBe('platform_mismatch');
  });
  it('in a kubelet list, an attempt that got past authentication wins', () => {
    expect(
      c(
        'Failed to pull image "a.azurecr.io/p": [rpc error: code = Unknown desc = Error response from daemon: ' +
          'manifest for a.azurecr.io/p:latest not found: manifest unknown: manifest unknown, rpc error: code = ' +
          'Unknown desc = Error response from daemon: Get https://a.azurecr.io/v2/p/manifests/latest: ' +
          'unauthorized: authentication required]',
      ).cause,
    ).toBe('not_found');
  });
});

describe('evidence the runtimes give in fewer words', () => {
  it('a gRPC status code decides when its detail is cut off', () => {
    const grpc = (code: string) =>
      c(
        `Failed to pull image "a.example/b:1": rpc error: code = ${code} desc = failed to pull and unpack ` +
          `image "a.example/b:1"`,
      ).cause;
    expect(grpc('NotFound')).toBe('not_found');
    expect(grpc('Unauthenticated')).toBe('unauthorized');
    expect(grpc('PermissionDenied')).toBe('unauthorized');
    expect(grpc('ResourceExhausted')).toBe('rate_limited');
    expect(grpc('Unavailable')).toBe('registry_unavailable');
    expect(grpc('DeadlineExceeded')).toBe('registry_unavailable');
    expect(grpc('4')).toBe('registry_unavailable');
  });
  it('a detail more specific than the code wins', () => {
    expect(
      c(
        'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/a/b:1": no match for ' +
          'platform in manifest: not found',
      ).cause,
    ).toBe('platform_mismatch');
  });
  it('a lost connection to the runtime, or creating a container, is not a pull failure', () => {
    expect(c('rpc error: code = 14 desc = grpc: the connection is unavailable').cause).toBe('unknown');
    expect(c('Failed to create container with error: rpc error: code = 4 desc = context deadline exceeded').cause).toBe(
      'unknown',
    );
  });
  it("pre-CRI Docker's wording", () => {
    expect(c('Pulling repository docker.io/a/b\nCould not reach any registry endpoint')).toMatchObject({
      cause: 'registry_unavailable',
      registry: 'docker.io',
    });
    expect(c('Tag latest not found in repository r.example:5000/a')).toMatchObject({
      cause: 'not_found',
      registry: 'r.example:5000',
    });
    expect(c('Error: image a/b:latest not found')).toMatchObject({ cause: 'not_found', registry: 'docker.io' });
  });
  it('"verify that it exists" answers are the ambiguous denial', () => {
    expect(c('denied: Caller does not have permission or the resource may not exist').cause).toBe(
      'not_found_or_unauthorized',
    );
    expect(
      c('Unable to access the repository: p/i; please verify that it exists and you have permission to access it')
        .cause,
    ).toBe('not_found_or_unauthorized');
  });
  it('I/O errors under the runtime storage are the node storage', () => {
    expect(
      c(
        'failed to extract layer sha256:ab: failed to mount /var/lib/containerd/tmpmounts/containerd-mount1: ' +
          'input/output error: unknown',
      ).cause,
    ).toBe('node_storage');
  });
  it('finds the image in more wrappers', () => {
    expect(
      c(
        'failed to resolve ref 1.dkr.ecr.us-east-1.amazonaws.com/a:1: pulling from host ' +
          '1.dkr.ecr.us-east-1.amazonaws.com failed with status code [manifests 1]: 403 Forbidden',
      ).registry,
    ).toBe('1.dkr.ecr.us-east-1.amazonaws.com');
    expect(
      c(
        'europe-west1-docker.pkg.dev/p/r/i:1: failed to authorize: failed to fetch anonymous token: unexpected ' +
          'status: 403 Forbidden',
      ).registry,
    ).toBe('europe-west1-docker.pkg.dev');
    expect(c('Error pulling ghcr.io/a/b:1: failed to register layer: no space left on device')).toMatchObject({
      cause: 'node_storage',
      registry: 'ghcr.io',
    });
  });
});

describe('states, kinds and hints', () => {
  it('state-only messages have no cause; the ones naming a verdict do', () => {
    expect(c('Error: ImagePullBackOff').cause).toBe('no_cause');
    expect(c('Error: ErrImagePull').cause).toBe('no_cause');
    expect(c('Back-off pulling image "nginx:429"').cause).toBe('no_cause');
    expect(c('Error: InvalidImageName').cause).toBe('invalid_reference');
    expect(c('Error: ErrImageNeverPull').cause).toBe('pull_policy_never');
  });
  it('does not read a success as a failure', () => {
    expect(c('Successfully pulled image "nginx:404" in 1s').cause).toBe('unknown');
  });
  it('takes the subcause of an invalid reference from the parser', () => {
    expect(
      c(
        'Failed to apply default image tag "https://h.example/a:1": couldn\'t parse image reference ' +
          '"https://h.example/a:1": invalid reference format',
      ),
    ).toMatchObject({
      cause: 'invalid_reference',
      subcause: 'scheme_prefix',
      reference: null,
      referenceValid: false,
      registry: 'h.example',
    });
  });
  it('reports the registry an unparsable reference names, or docker.io when it names no host', () => {
    const reg = (image: string) =>
      c(
        `Failed to apply default image tag "${image}": couldn't parse image reference "${image}": invalid ` +
          `reference format`,
      );
    expect(reg('r.example:5000/Team/App:1')).toMatchObject({ registry: 'r.example:5000', referenceValid: false });
    expect(reg('1.dkr.ecr.us-east-1.amazonaws.com/app:').registry).toBe('1.dkr.ecr.us-east-1.amazonaws.com');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an unexpanded template, as manifests carry it
    expect(reg('acme/app:${TAG}').registry).toBe('docker.io');
    expect(reg('<image>:<tag>').registry).toBe('docker.io');
    expect(reg('/cloudfoundry/app:1').registry).toBeNull();
    expect(c('Failed to pull image "nginx:1": x').referenceValid).toBe(true);
    expect(c('Error: ErrImagePull').referenceValid).toBeNull();
  });
  it('uses the image hint when the message names none', () => {
    expect(c('Error: ErrImagePull', { image: 'ghcr.io/acme/app:1' })).toMatchObject({
      image: 'ghcr.io/acme/app:1',
      registry: 'ghcr.io',
      provider: 'ghcr',
    });
    expect(c('Failed to pull image "quay.io/a/b:1": manifest unknown', { image: 'ghcr.io/x/y' }).registry).toBe(
      'quay.io',
    );
  });
  it('falls back on the event reason', () => {
    expect(c('something the kubelet never says', { reason: 'ErrImageNeverPull' }).cause).toBe('pull_policy_never');
  });
  it('runtime errors are not pull causes', () => {
    expect(c('failed to create containerd task: exec format error').cause).toBe('unknown');
    expect(
      c(
        'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing dial ' +
          'unix /run/containerd/containerd.sock: connect: connection refused"',
      ).cause,
    ).toBe('unknown');
  });
  it('every cause has a hint', () => {
    for (const cause of CAUSES) expect(hintFor(cause, null).length).toBeGreaterThan(0);
  });
});

describe('registries in 2026', () => {
  it("Docker Hub's denied is ambiguous (it says so for missing repositories); another registry's is unauthorized", () => {
    const denied = (ref: string) =>
      `Failed to pull image "${ref}": rpc error: code = Unknown desc = initializing source docker://${ref}: ` +
      `reading manifest 1.27.3 in ${ref.replace(/:[^:/]*$/, '')}: requested access to the resource is denied`;
    expect(c(denied('docker.io/library/ngnix:1.27.3')).cause).toBe('not_found_or_unauthorized');
    expect(c(denied('registry.corp.example:5000/payments/api:1.27.3')).cause).toBe('unauthorized');
    expect(c('denied: requested access to the resource is denied').cause).toBe('not_found_or_unauthorized');
  });
  it('reads the image after "failed to pull" without the word image, but not the word image itself', () => {
    expect(
      c(
        'failed to pull ghcr.io/dependabot/dependabot-updater-npm: Error response from daemon: toomanyrequests: ' +
          'retry-after: 880.092µs, allowed: 44000/minute',
      ),
    ).toMatchObject({ cause: 'rate_limited', registry: 'ghcr.io', image: 'ghcr.io/dependabot/dependabot-updater-npm' });
    expect(c('Failed to pull image: pull QPS exceeded')).toMatchObject({ cause: 'rate_limited', image: null });
  });
});

describe('Kubernetes 1.35 and client-go', () => {
  it('classifies an aggregated Event as the message it merged', () => {
    const inner =
      'Failed to pull image "ghcr.io/a/b:1": rpc error: code = NotFound desc = failed to pull and unpack image ' +
      '"ghcr.io/a/b:1": failed to resolve reference "ghcr.io/a/b:1": ghcr.io/a/b:1: not found';
    const merged = c(`(combined from similar events): ${inner}`, { reason: 'Failed' });
    expect(merged).toEqual(c(inner, { reason: 'Failed' }));
    expect(merged).toMatchObject({ cause: 'not_found', image: 'ghcr.io/a/b:1', registry: 'ghcr.io' });
    expect(c('(combined from similar events): Error: ImagePullBackOff', { reason: 'Failed' }).cause).toBe('no_cause');
  });
  it('a failed pull intent record is the node, whatever the file system said (KEP-2535)', () => {
    for (const why of ['permission denied', 'no such file or directory', 'input/output error'])
      expect(
        c(
          'Failed to record image pull intent for container image "nginx:1.27": failed to record image pull intent: ' +
            `open /var/lib/kubelet/image_manager/pulling/sha256-1f: ${why}`,
        ),
        why,
      ).toMatchObject({ cause: 'node_storage', image: 'nginx:1.27', registry: 'docker.io' });
    expect(c('Error: failed to record image pull intent: write /var/lib/kubelet/x: permission denied')).toMatchObject({
      cause: 'node_storage',
      subcause: 'pull_records',
    });
  });
  it('says a Never-policy miss may be credentials that do not match (KEP-2535)', () => {
    const r = c('Container image "acme/app:1" is not present with pull policy of Never', {
      reason: 'ErrImageNeverPull',
    });
    expect(r.cause).toBe('pull_policy_never');
    expect(r.hint).toMatch(/imagePullSecrets/);
    expect(r.hint).toMatch(/preload/);
  });
  it('an image present and accessible is not a failure', () => {
    expect(
      c('Container image "nginx:1.27" already present on machine and can be accessed by the pod', { reason: 'Pulled' })
        .cause,
    ).toBe('unknown');
  });
});

describe('registry and provider', () => {
  const cases: [string, string | null, string | null][] = [
    ['Failed to pull image "123.dkr.ecr.us-east-1.amazonaws.com/a:1": x', '123.dkr.ecr.us-east-1.amazonaws.com', 'ecr'],
    ['Failed to pull image "public.ecr.aws/a/b:1": x', 'public.ecr.aws', 'ecr_public'],
    ['Failed to pull image "us-central1-docker.pkg.dev/p/r/i:1": x', 'us-central1-docker.pkg.dev', 'artifact_registry'],
    ['Failed to pull image "eu.gcr.io/p/i:1": x', 'eu.gcr.io', 'gcr'],
    ['Failed to pull image "a.azurecr.io/i:1": x', 'a.azurecr.io', 'acr'],
    ['Failed to pull image "mcr.microsoft.com/dotnet/runtime:8.0": x', 'mcr.microsoft.com', 'mcr'],
    ['Failed to pull image "registry.k8s.io/pause:3.9": x', 'registry.k8s.io', 'k8s_registry'],
    ['Failed to pull image "harbor.corp:8443/a/b": x', 'harbor.corp:8443', 'self_hosted'],
    ['Failed to pull image "quay.io/a/b": x', 'quay.io', 'quay'],
    [
      'pinging container registry quay.io: Get "https://quay.io/v2/": dial tcp: lookup quay.io: no such host',
      'quay.io',
      'quay',
    ],
    ['failed to do request: Head "https://mirror.example/v2/a/manifests/1?ns=ghcr.io": EOF', 'ghcr.io', 'ghcr'],
    ['Error: ErrImagePull', null, null],
  ];
  for (const [message, registry, provider] of cases) {
    it(`${registry}`, () => expect(c(message)).toMatchObject({ registry, provider }));
  }
});
