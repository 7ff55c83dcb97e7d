import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { classifyLine, runClassifyStream } from './jsonl-stream.ts';

function collector(delayEvery = 0): { sink: Writable; text: () => string } {
  const chunks: string[] = [];
  let n = 0;
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      // A slow reader: the pipeline must wait instead of buffering everything.
      if (delayEvery && ++n % delayEvery === 0) setTimeout(cb, 1);
      else cb();
    },
  });
  return { sink, text: () => chunks.join('') };
}

describe('classifyLine', () => {
  it('answers invalid JSON, non-objects and a missing message with an error', () => {
    expect(classifyLine('{').ok).toBe(false);
    expect(JSON.parse(classifyLine('[1]').output)).toHaveProperty('error');
    expect(JSON.parse(classifyLine('{"reason":"Failed"}').output)).toEqual({ error: 'missing "message" string' });
    expect(JSON.parse(classifyLine('{"message":42}').output)).toHaveProperty('error');
  });
  it('accepts the events.k8s.io/v1 `note`', () => {
    expect(JSON.parse(classifyLine('{"note":"Error: ImagePullBackOff"}').output).cause).toBe('no_cause');
  });
  it('reads plain text with --text', () => {
    expect(JSON.parse(classifyLine('{"message":"x"}', { text: true }).output).cause).toBe('unknown');
  });
});

describe('runClassifyStream', () => {
  it('keeps order, answers bad lines with errors, skips blank lines, exit 2', async () => {
    const input = Readable.from([
      '{"message":"Error: ErrImagePull"}\n\nnot json\n',
      '{"message":"Failed to pull image \\"nginx:x\\": manifest unknown", ' +
        '"reason":"Failed"}\r\n{"reason":"Failed"}\n   \n{"message":"Error: InvalidImageName"}',
    ]);
    const { sink, text } = collector();
    const result = await runClassifyStream(input, sink);
    const lines = text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.cause ?? 'error')).toEqual([
      'no_cause',
      'error',
      'not_found',
      'error',
      'invalid_reference',
    ]);
    expect(result).toEqual({ lines: 5, errors: 2, exitCode: 2 });
  });

  it('exits 0 when every line is valid, and splits lines across chunk and UTF-8 boundaries', async () => {
    const line = Buffer.from('{"message":"Failed to pull image \\"nginx:ü\\": not found"}\n');
    const chunks = [line.subarray(0, 37), line.subarray(37, 38), line.subarray(38), line];
    const { sink, text } = collector();
    const result = await runClassifyStream(Readable.from(chunks), sink);
    expect(result.exitCode).toBe(0);
    const out = text().trimEnd().split('\n');
    expect(out).toHaveLength(2);
    expect(JSON.parse(out[0] ?? '').image).toBe('nginx:ü');
  });

  it('streams large inputs into a slow reader without losing lines', async () => {
    const n = 20_000;
    function* gen() {
      for (let i = 0; i < n; i += 100) {
        let s = '';
        for (let j = 0; j < 100; j++) s += `{"message":"Back-off pulling image \\"app:${i + j}\\""}\n`;
        yield s;
      }
    }
    const { sink, text } = collector(50);
    const result = await runClassifyStream(Readable.from(gen()), sink);
    expect(result).toEqual({ lines: n, errors: 0, exitCode: 0 });
    const out = text().trimEnd().split('\n');
    expect(out).toHaveLength(n);
    expect(JSON.parse(out[n - 1] ?? '').image).toBe(`app:${n - 1}`);
  });
});
