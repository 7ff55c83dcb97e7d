// `pullwatch classify`: JSON Lines (or plain text lines) in, one JSON line out per input line.
import { Transform, type Readable, type Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { classify } from './classify.ts';

export interface ClassifyStreamOptions {
  /** One plain message per line instead of JSON objects. */
  text?: boolean;
}

export interface ClassifyStreamResult {
  /** Non-empty lines read. */
  lines: number;
  /** Lines answered with `{"error": …}`. */
  errors: number;
  /** 0 when every line was valid, 2 otherwise. */
  exitCode: 0 | 2;
}

/** One input line → its output line (without newline), and whether it was valid. */
export function classifyLine(line: string, options: ClassifyStreamOptions = {}): { output: string; ok: boolean } {
  if (options.text) return { output: JSON.stringify(classify({ message: line })), ok: true };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return {
      output: JSON.stringify({ error: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` }),
      ok: false,
    };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { output: JSON.stringify({ error: 'expected a JSON object with a "message" string' }), ok: false };
  }
  const o = value as Record<string, unknown>;
  // events.k8s.io/v1 calls the message `note`.
  const message = typeof o.message === 'string' ? o.message : typeof o.note === 'string' ? o.note : undefined;
  if (message === undefined) return { output: JSON.stringify({ error: 'missing "message" string' }), ok: false };
  const reason = typeof o.reason === 'string' ? o.reason : null;
  const image = typeof o.image === 'string' ? o.image : null;
  return { output: JSON.stringify(classify({ message, reason, image })), ok: true };
}

/**
 * Splits bytes into lines and answers each. Blank lines are skipped (no output line): they carry no
 * message, and a trailing newline must not count as an invalid record. `\r\n` endings are accepted.
 */
export class ClassifyTransform extends Transform {
  lines = 0;
  errors = 0;
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly options: ClassifyStreamOptions = {}) {
    super({ readableHighWaterMark: 64 * 1024 });
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const last = text.lastIndexOf('\n');
    if (last === -1) {
      this.pending = text;
      callback();
      return;
    }
    this.pending = text.slice(last + 1);
    callback(null, this.answer(text.slice(0, last).split('\n')));
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    callback(null, rest.length > 0 ? this.answer([rest]) : undefined);
  }

  private answer(lines: string[]): string | undefined {
    let out = '';
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      this.lines++;
      const { output, ok } = classifyLine(line, this.options);
      if (!ok) this.errors++;
      out += `${output}\n`;
    }
    return out.length > 0 ? out : undefined;
  }
}

/** Streams `input` to `output` with backpressure (pipeline pauses the input while output is full). */
export async function runClassifyStream(
  input: Readable,
  output: Writable,
  options: ClassifyStreamOptions = {},
): Promise<ClassifyStreamResult> {
  const transform = new ClassifyTransform(options);
  try {
    await pipeline(input, transform, output, { end: output !== process.stdout });
  } catch (err) {
    // A reader that went away (`| head`) is the end of the job, not a failure.
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
  }
  return { lines: transform.lines, errors: transform.errors, exitCode: transform.errors === 0 ? 0 : 2 };
}
