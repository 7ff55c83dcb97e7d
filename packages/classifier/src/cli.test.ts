import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

function run(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['apps/cli/bin/pullwatch.js', 'classify', ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('pullwatch classify (spawned)', () => {
  it('answers every line in order, errors in place, exit 2', async () => {
    const input = [
      JSON.stringify({
        message:
          'Failed to pull image "busybox": rpc error: code = Unknown desc = toomanyrequests: You have reached ' +
          'your pull rate limit',
        reason: 'Failed',
      }),
      '{not json',
      JSON.stringify({ reason: 'Failed' }),
      '',
      JSON.stringify({ message: 'Container image "nginx:latest" is not present with pull policy of Never' }),
    ].join('\n');
    const { code, stdout } = await run([], `${input}\n`);
    const lines = stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({
      cause: 'rate_limited',
      subcause: 'registry',
      registry: 'docker.io',
      provider: 'docker_hub',
      retryable: true,
    });
    expect(lines[1]).toHaveProperty('error');
    expect(lines[2]).toHaveProperty('error');
    expect(lines[3]).toMatchObject({ cause: 'pull_policy_never', image: 'nginx:latest' });
    expect(code).toBe(2);
  }, 30_000);

  it('--text reads plain messages and exits 0', async () => {
    const { code, stdout } = await run(
      ['--text'],
      'Error: ImagePullBackOff\nx509: certificate signed by unknown authority\n',
    );
    expect(
      stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { cause: string }).cause),
    ).toEqual(['no_cause', 'tls_error']);
    expect(code).toBe(0);
  }, 30_000);

  it('rejects unknown options with exit 2', async () => {
    const { code, stderr } = await run(['--nope'], '');
    expect(code).toBe(2);
    expect(stderr).toContain('usage');
  }, 30_000);
});
