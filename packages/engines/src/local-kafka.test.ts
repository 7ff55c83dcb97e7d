import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataFolderHint } from './local-kafka.ts';

describe('dataFolderHint', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names the folder, its partition count and the way out when there are thousands', () => {
    dir = mkdtempSync(join(tmpdir(), 'pw-kafka-data-'));
    for (let i = 0; i < 1001; i++) mkdirSync(join(dir, `t-${i}`));
    expect(dataFolderHint(dir)).toBe(
      ` (${dir} holds 1001 partition folders, which the broker loads before it serves; ` +
        '`pullwatch engines reset` stops the local engines and deletes their data)',
    );
  });

  it('says nothing for a usual folder or none at all', () => {
    dir = mkdtempSync(join(tmpdir(), 'pw-kafka-data-'));
    for (let i = 0; i < 1000; i++) mkdirSync(join(dir, `t-${i}`));
    expect(dataFolderHint(dir)).toBe('');
    expect(dataFolderHint(join(dir, 'missing'))).toBe('');
  });
});
