import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { open, readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import { createProgress } from '../progress.ts';
import { clientIngestToken } from '../start/api-token.ts';
import { BackoffPolicy } from '@pullwatch/backoff';

// A collector that does not answer: 4 attempts, 500 ms doubling, full jitter (busy answers follow Retry-After).
const UNREACHABLE_BACKOFF = new BackoffPolicy({ baseMs: 500, maxMs: 4_000, maxAttempts: 4 });

const CHUNK = 5000;

/** A chunk of Events and how far into the file it ends (0..1). */
interface Chunk {
  items: unknown[];
  fraction: number;
}

/** Reads a kubectl dump / JSON array (one document) or NDJSON (streamed) into chunks of Events. */
async function* chunks(path: string): AsyncGenerator<Chunk> {
  const fd = await open(path);
  const { buffer, bytesRead } = await fd.read(Buffer.alloc(256), 0, 256, 0);
  await fd.close();
  const head = buffer.subarray(0, bytesRead).toString('utf8').trimStart().slice(0, 1);
  // One JSON document: parse it whole (kubectl dumps are one document by nature).
  if (head === '[' || head === '{') {
    const text = await readFile(path, 'utf8');
    let doc: unknown = null;
    try {
      doc = JSON.parse(text);
    } catch {
      doc = null; // maybe NDJSON starting with '{': fall through
    }
    if (doc !== null) {
      const items = Array.isArray(doc)
        ? doc
        : Array.isArray((doc as { items?: unknown }).items)
          ? (doc as { items: unknown[] }).items
          : [doc];
      for (let i = 0; i < items.length; i += CHUNK)
        yield { items: items.slice(i, i + CHUNK), fraction: Math.min(1, (i + CHUNK) / items.length) };
      return;
    }
  }
  let batch: unknown[] = [];
  let n = 0;
  const size = (await stat(path)).size || 1;
  const input = createReadStream(path, 'utf8');
  // NDJSON is not counted up front: how far along is the share of the file's bytes read.
  const fraction = () => Math.min(1, input.bytesRead / size);
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    n += 1;
    if (!line.trim()) continue;
    try {
      batch.push(JSON.parse(line));
    } catch (err) {
      throw new Error(`${path}:${n}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (batch.length >= CHUNK) {
      yield { items: batch, fraction: fraction() };
      batch = [];
    }
  }
  if (batch.length) yield { items: batch, fraction: 1 };
}

async function post(url: string, items: unknown[], token: string | undefined): Promise<number> {
  const body = JSON.stringify(items);
  const unreachable = UNREACHABLE_BACKOFF.start();
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
    } catch (err) {
      const wait = unreachable.next();
      if (wait === null)
        throw new Error(
          `collector unreachable at ${url}: ` +
            `${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}`,
        );
      await UNREACHABLE_BACKOFF.sleep(wait);
      continue;
    }
    const text = await res.text();
    if (res.ok) return (JSON.parse(text) as { accepted: number }).accepted;
    // A collector with a smaller cap than this chunk, in events or bytes: send it in halves.
    if (res.status === 413 && items.length > 1) {
      const half = Math.ceil(items.length / 2);
      return (await post(url, items.slice(0, half), token)) + (await post(url, items.slice(half), token));
    }
    if ((res.status === 503 || res.status === 429) && attempt < 30) {
      const after = Number(res.headers.get('retry-after')) || 2;
      process.stderr.write(`collector busy, retrying in ${after} s\n`);
      await new Promise((r) => setTimeout(r, after * 1000));
      continue;
    }
    let message = text;
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      // plain text error
    }
    throw new Error(`collector rejected the events (${res.status}): ${message}`);
  }
}

const replay: Command = async (args) => {
  const { values } = parseArgs({
    args,
    options: {
      cluster: { type: 'string' },
      file: { type: 'string' },
      endpoint: { type: 'string', default: 'http://127.0.0.1:4318' },
      token: { type: 'string' },
    },
  });
  if (!values.cluster || !values.file) {
    process.stderr.write('usage: pullwatch replay --cluster NAME --file PATH [--endpoint URL] [--token TOKEN]\n');
    return 2;
  }
  if (!existsSync(values.file)) throw new Error(`no such file: ${values.file}`);
  const url =
    `${values.endpoint.replace(/\/$/, '')}/v1/k8s-events` +
    `?cluster=${encodeURIComponent(values.cluster)}&source=replay`;
  const token = clientIngestToken(values.token, process.env);
  let sent = 0;
  let accepted = 0;
  const progress = createProgress({ unit: 'events', stream: process.stderr });
  for await (const { items, fraction } of chunks(values.file)) {
    accepted += await post(url, items, token);
    sent += items.length;
    progress.update(sent, fraction);
  }
  progress.finish(sent);
  process.stdout.write(`accepted ${accepted} events (${sent - accepted} not image-related, filtered)\n`);
  return 0;
};

export default replay;
