import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureApiToken } from './api-token.ts';

describe('ensureApiToken', () => {
  it('creates a token once with mode 0600 and keeps it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-token-')), 'nested', 'api-token');
    const first = ensureApiToken(file);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^pw_[A-Za-z0-9_-]{32}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = ensureApiToken(file);
    expect(second).toEqual({ token: first.token, created: false });
  });

  it('replaces an empty token file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-token-')), 'api-token');
    writeFileSync(file, '\n', { mode: 0o644 });
    const t = ensureApiToken(file);
    expect(t.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
