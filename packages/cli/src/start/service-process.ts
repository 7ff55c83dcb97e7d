import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { serviceEnv, serviceNodeFlags } from './runtime-tuning.ts';

/** What a service process tells the command that started it once it serves (sent over the IPC channel). */
export interface ReadyMessage {
  type: 'pullwatch:ready';
  service: string;
  /** The address it serves on, when it serves HTTP (the ingest, the API, the analyzer's metrics). */
  url: string | null;
}

export class ServiceExitedError extends Error {
  constructor(
    readonly service: string,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly lastLines: string[],
  ) {
    super(
      `${service} exited (${signal ?? `code ${code}`}) before it was ` +
        `ready${lastLines.length ? `:\n  ${lastLines.join('\n  ')}` : ''}`,
    );
    this.name = 'ServiceExitedError';
  }
}

export interface ServiceProcessOptions {
  /** The service's name, also the `pullwatch` subcommand that runs it. */
  service: string;
  /** The `pullwatch` entry script the child runs (the one this command was started with). */
  cliEntry: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  /** Each line the child writes, prefixed by its name. */
  line: (text: string) => void;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export interface ServiceProcess {
  service: string;
  pid: number;
  url: string | null;
  /** SIGTERM, then waits for the exit (the child stops gracefully); SIGKILL past the deadline. */
  stop(): Promise<void>;
}

/**
 * Runs one service as its own process, so `npm start` spreads the pipeline over every core. The child
 * gets its own process group: a Ctrl-C in the terminal reaches only the parent, which then stops the
 * services in order (sources first). If the parent dies, the IPC channel closes and the child stops itself.
 */
export async function startServiceProcess(opts: ServiceProcessOptions): Promise<ServiceProcess> {
  const nodeFlags = serviceNodeFlags(opts.service, opts.env.NODE_OPTIONS);
  const child = spawn(process.execPath, [...nodeFlags, opts.cliEntry, opts.service, ...(opts.args ?? [])], {
    env: serviceEnv(opts.service, opts.env),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  const tail: string[] = [];
  const prefix = `${opts.service.padEnd(9)} │ `;
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (text) => {
      tail.push(text);
      if (tail.length > 8) tail.shift();
      opts.line(prefix + text);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = await waitReady(child, opts.service, exited, tail, opts.readyTimeoutMs ?? 120_000);
  const stopTimeoutMs = opts.stopTimeoutMs ?? 35_000;
  return {
    service: opts.service,
    pid: child.pid!,
    url: ready.url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const { code, signal } = await exited;
      clearTimeout(timer);
      if (signal === 'SIGKILL') opts.line(`${prefix}did not stop within ${stopTimeoutMs} ms and was killed`);
      else if (code !== 0) opts.line(`${prefix}exited with code ${code}`);
    },
  };
}

function waitReady(
  child: ChildProcess,
  service: string,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  tail: string[],
  timeoutMs: number,
): Promise<ReadyMessage> {
  return new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${service} was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', (m: unknown) => {
      if (isReady(m)) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new ServiceExitedError(service, code, signal, [...tail]));
    });
  });
}

function isReady(m: unknown): m is ReadyMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'pullwatch:ready';
}

/** Called by a service command once it serves: tells a parent `pullwatch start`, if there is one. */
export function notifyReady(service: string, url: string | null): void {
  if (!process.send || !process.connected) return;
  const message: ReadyMessage = { type: 'pullwatch:ready', service, url };
  process.send(message);
}
