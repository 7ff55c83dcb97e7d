import { type IncomingHttpHeaders, request } from 'node:http';

/** What a request got: status 0 when no answer came (timeout, reset before any answer). */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  raw: Buffer;
  /** The body parsed as JSON, or null. */
  json: unknown;
  ms: number;
  /** Why no answer came (status 0). */
  error?: string;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Transfer-Encoding: chunked instead of a Content-Length (the server cannot refuse the size up front). */
  chunked?: boolean;
  timeoutMs?: number;
}

const CHUNK = 64 * 1024;

/**
 * One request on a connection of its own (node:http, not fetch): a server may answer 413 and close before the body is
 * all sent, and that answer is what the test wants, not the EPIPE of the rest of the upload.
 */
export function send(url: string, opts: SendOptions = {}): Promise<Answer> {
  const held = hold(url, opts);
  return held.finish();
}

export interface Held {
  /** Sends the rest of the body and waits for the answer. */
  finish(): Promise<Answer>;
  /** Whether an answer came already (before the body was finished). */
  readonly answered: boolean;
}

/**
 * Starts a request and sends the first `firstBytes` of its body (all of it when absent), then waits for finish():
 * a request that occupies the server while its body trickles in.
 */
export function hold(url: string, opts: SendOptions & { firstBytes?: number } = {}): Held {
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : Buffer.from(opts.body ?? new Uint8Array());
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.chunked) headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = String(body.length);
  const t0 = performance.now();
  let answered = false;
  let resolveAnswer: (a: Answer) => void = () => {};
  const answer = new Promise<Answer>((r) => {
    resolveAnswer = r;
  });
  const done = (a: Omit<Answer, 'ms'>) => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    resolveAnswer({ ...a, ms: performance.now() - t0 });
  };
  const req = request(url, { method: opts.method ?? 'POST', headers, agent: false });
  const timer = setTimeout(() => {
    done({ status: 0, headers: {}, text: '', raw: Buffer.alloc(0), json: null, error: 'timeout' });
    req.destroy();
  }, opts.timeoutMs ?? 15_000);
  req.on('response', (res) => {
    const parts: Buffer[] = [];
    res.on('data', (c: Buffer) => parts.push(c));
    res.on('end', () => {
      const raw = Buffer.concat(parts);
      const text = raw.toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      done({ status: res.statusCode ?? 0, headers: res.headers, text, raw, json });
      req.destroy();
    });
    res.on('error', (err) =>
      done({ status: 0, headers: {}, text: '', raw: Buffer.alloc(0), json: null, error: err.message }),
    );
  });
  // The server may close once it has answered: what is left of the upload fails, and that is fine.
  req.on('error', (err) => {
    setTimeout(
      () => done({ status: 0, headers: {}, text: '', raw: Buffer.alloc(0), json: null, error: err.message }),
      1000,
    );
  });
  let offset = 0;
  const write = async (upTo: number) => {
    while (offset < upTo && !answered && !req.destroyed) {
      const end = Math.min(upTo, offset + CHUNK);
      const ok = req.write(body.subarray(offset, end));
      offset = end;
      if (!ok)
        await new Promise<void>((r) => {
          const go = () => {
            req.off('drain', go);
            req.off('close', go);
            r();
          };
          req.once('drain', go);
          req.once('close', go);
        });
    }
  };
  const first = write(Math.min(body.length, opts.firstBytes ?? body.length));
  return {
    get answered() {
      return answered;
    },
    async finish() {
      await first;
      await write(body.length);
      if (!req.destroyed && !answered) req.end();
      return answer;
    },
  };
}
