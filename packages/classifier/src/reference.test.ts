import { describe, expect, it } from 'vitest';
import { parseReference, splitDomain, formatReference } from './reference.ts';

// Cases follow github.com/distribution/reference (regexp.go, normalize.go and their tests).
describe('parseReference: valid references and Docker normalisation', () => {
  const cases: [string, { registry: string; repository: string; tag: string | null; digest: string | null }][] = [
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: null, digest: null }],
    ['nginx:1.25', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25', digest: null }],
    ['bitnami/redis:7.2', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7.2', digest: null }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx', tag: null, digest: null }],
    [
      'docker.io/library/nginx:latest',
      { registry: 'docker.io', repository: 'library/nginx', tag: 'latest', digest: null },
    ],
    [
      'index.docker.io/jaegertracing/all-in-one',
      { registry: 'docker.io', repository: 'jaegertracing/all-in-one', tag: null, digest: null },
    ],
    [
      'registry-1.docker.io/library/busybox',
      { registry: 'docker.io', repository: 'library/busybox', tag: null, digest: null },
    ],
    ['index.docker.io/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: null, digest: null }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: null, digest: null }],
    ['localhost:5000/app:dev', { registry: 'localhost:5000', repository: 'app', tag: 'dev', digest: null }],
    [
      'Registry.Example.COM:5000/team/app',
      { registry: 'registry.example.com:5000', repository: 'team/app', tag: null, digest: null },
    ],
    ['[::1]:5000/app:1', { registry: '[::1]:5000', repository: 'app', tag: '1', digest: null }],
    ['[2001:db8::1]/team/app', { registry: '[2001:db8::1]', repository: 'team/app', tag: null, digest: null }],
    [
      '192.168.1.100:32000/core:0.2.19',
      { registry: '192.168.1.100:32000', repository: 'core', tag: '0.2.19', digest: null },
    ],
    [
      'ghcr.io/a.b/c_d/e__f/g-h/i---j:v1',
      { registry: 'ghcr.io', repository: 'a.b/c_d/e__f/g-h/i---j', tag: 'v1', digest: null },
    ],
    [
      'quay.io/okd/scos@sha256:637140d5811ea5f3ebbf1f0185ef4e98085236684337f2aabc4fa6bbffe1b305',
      {
        registry: 'quay.io',
        repository: 'okd/scos',
        tag: null,
        digest: 'sha256:637140d5811ea5f3ebbf1f0185ef4e98085236684337f2aabc4fa6bbffe1b305',
      },
    ],
    [
      'nginx:1.25@sha256:637140d5811ea5f3ebbf1f0185ef4e98085236684337f2aabc4fa6bbffe1b305',
      {
        registry: 'docker.io',
        repository: 'library/nginx',
        tag: '1.25',
        digest: 'sha256:637140d5811ea5f3ebbf1f0185ef4e98085236684337f2aabc4fa6bbffe1b305',
      },
    ],
    [
      'nginx:UPPER_case.Tag-1',
      { registry: 'docker.io', repository: 'library/nginx', tag: 'UPPER_case.Tag-1', digest: null },
    ],
    [
      `nginx:${'a'.repeat(128)}`,
      { registry: 'docker.io', repository: 'library/nginx', tag: 'a'.repeat(128), digest: null },
    ],
    [
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1',
      { registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', repository: 'api', tag: '1', digest: null },
    ],
  ];
  for (const [input, expected] of cases) {
    it(input.length > 80 ? `${input.slice(0, 80)}…` : input, () => {
      const r = parseReference(input);
      expect(r).toEqual({ ok: true, reference: expected });
    });
  }

  it('formats the fully qualified name', () => {
    const r = parseReference('nginx:1');
    expect(r.ok && formatReference(r.reference)).toBe('docker.io/library/nginx:1');
  });
});

describe('parseReference: invalid references', () => {
  const cases: [string, string][] = [
    ['', 'empty'],
    ['https://harbor.example.com/release/name:1.1.0', 'scheme_prefix'],
    ['docker://nginx', 'scheme_prefix'],
    ['None:None', 'uppercase'],
    ['registry.internal.renku.ch/GaRaLi/renku-challenge:e75f5d6', 'uppercase'],
    ['Nginx', 'uppercase'],
    ['/cloudfoundry/app:1', 'invalid_format'],
    ['reg/camunda/zeebe:8.8:latest', 'invalid_format'],
    ['<todo>', 'invalid_format'],
    ['nginx:', 'tag_invalid'],
    ['nginx:-dash', 'tag_invalid'],
    [`nginx:${'a'.repeat(129)}`, 'tag_invalid'],
    ['nginx@sha256:abc', 'invalid_format'],
    [`nginx@sha256:${'a'.repeat(63)}`, 'digest_invalid'],
    [`nginx@sha256:${'A'.repeat(64)}`, 'digest_invalid'],
    [`nginx@md5:${'a'.repeat(32)}`, 'digest_invalid'],
    ['a'.repeat(64), 'hex_identifier'],
    [`example.com/${'a'.repeat(250)}`, 'name_too_long'],
    ['foo_/bar', 'invalid_format'],
    ['foo/-bar', 'invalid_format'],
    ['foo/bar-', 'invalid_format'],
    ['foo/___bar', 'invalid_format'],
    ['foo//bar', 'invalid_format'],
    ['-registry.com/app', 'invalid_format'],
    ['nginx latest', 'invalid_format'],
  ];
  for (const [input, reason] of cases) {
    it(`${input.length > 60 ? `${input.slice(0, 60)}…` : JSON.stringify(input)} → ${reason}`, () => {
      const r = parseReference(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toBe(reason);
    });
  }
});

describe('splitDomain (normalize.go splitDockerDomain)', () => {
  it('treats a first component with a dot, a port, localhost or upper case as a host', () => {
    expect(splitDomain('example.com/a')).toEqual({ domain: 'example.com', remainder: 'a' });
    expect(splitDomain('registry:5000/a')).toEqual({ domain: 'registry:5000', remainder: 'a' });
    expect(splitDomain('localhost/a')).toEqual({ domain: 'localhost', remainder: 'a' });
    expect(splitDomain('EDITED/a')).toEqual({ domain: 'EDITED', remainder: 'a' });
    expect(splitDomain('bitnami/redis')).toEqual({ domain: 'docker.io', remainder: 'bitnami/redis' });
  });
});
