import { describe, expect, it } from 'vitest';
import { messageKind, parseGoDuration, parsePulled } from './message-kind.ts';

describe('messageKind', () => {
  const cases: [string, string][] = [
    ['Failed to pull image "nginx:x": rpc error: code = NotFound desc = not found', 'failed_pull'],
    ['spec.containers{app}: Failed to pull image "nginx:x": not found', 'failed_pull'],
    [
      'Failed to apply default image tag "None:None": couldn\'t parse image reference "None:None": invalid ' +
        'reference format',
      'inspect_failed',
    ],
    [
      'Failed to inspect image "busybox": rpc error: code = Unknown desc = short-name did not resolve',
      'inspect_failed',
    ],
    ['Container image "nginx:latest" is not present with pull policy of Never', 'never_pull'],
    ['Error: ErrImagePull', 'status'],
    ['Error: ImagePullBackOff', 'status'],
    ['Error: InvalidImageName', 'status'],
    ['Error: ErrImageNeverPull', 'status'],
    ['Back-off pulling image "nginx"', 'backoff'],
    ['Pulling image "nginx"', 'pulling'],
    ['Successfully pulled image "nginx" in 1.2s (1.2s including waiting). Image size: 123 bytes.', 'pulled'],
    ['Container image "nginx:latest" already present on machine', 'already_present'],
    ['Started container app', 'other'],
    ['Container started', 'other'],
    ['Container image "nginx:1.27" already present on machine and can be accessed by the pod', 'already_present'],
    ['(combined from similar events): Error: ImagePullBackOff', 'status'],
    ['(combined from similar events): Back-off pulling image "nginx"', 'backoff'],
    [
      'Failed to record image pull intent for container image "nginx:1.27": failed to record image pull intent: ' +
        'open /var/lib/kubelet/image_manager/pulling/sha256-1f: no space left on device',
      'failed_pull',
    ],
    [
      'Error: failed to record image pull intent: open /var/lib/kubelet/image_manager/pulling/x: permission denied',
      'failed_pull',
    ],
  ];
  for (const [message, kind] of cases)
    it(`${kind}: ${message.slice(0, 60)}`, () => expect(messageKind(message)).toBe(kind));

  it('takes a Pulled Event for a success whatever its words', () => {
    expect(
      messageKind('Container image "nginx:1.27" already present on machine and can be accessed by the pod', 'Pulled'),
    ).toBe('already_present');
    expect(messageKind('Image "nginx:1.27" pulled', 'Pulled')).toBe('pulled');
    expect(messageKind('Image "nginx:1.27" pulled', 'Failed')).toBe('other');
  });
});

describe('parsePulled', () => {
  it('reads duration, waiting time and size (kubelet ≥ 1.28)', () => {
    expect(
      parsePulled(
        'Successfully pulled image "nginx:1.25" in 1.2s (3.4s including waiting). Image size: 70000123 bytes.',
      ),
    ).toEqual({
      image: 'nginx:1.25',
      durationMs: 1200,
      durationIncludingWaitingMs: 3400,
      sizeBytes: 70000123,
    });
  });
  it('reads the older forms', () => {
    expect(parsePulled('Successfully pulled image "busybox" in 2.345s')).toMatchObject({
      durationMs: 2345,
      sizeBytes: null,
      durationIncludingWaitingMs: null,
    });
    expect(parsePulled('Successfully pulled image "busybox" in 1m2.5s')).toMatchObject({ durationMs: 62500 });
    expect(parsePulled('Successfully pulled image "busybox" in 850.5ms')).toMatchObject({ durationMs: 850.5 });
    expect(parsePulled('Successfully pulled image "busybox"')).toMatchObject({ image: 'busybox', durationMs: null });
  });
  it('is null for other messages', () => expect(parsePulled('Pulling image "x"')).toBeNull());
  it('parses Go durations', () => {
    expect(parseGoDuration('1h2m3s')).toBe(3_723_000);
    expect(parseGoDuration('250µs')).toBe(0.25);
    expect(parseGoDuration('abc')).toBeNull();
  });
});
