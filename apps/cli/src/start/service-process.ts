import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { stopTimeoutMs } from '../stop-signal.ts';
import { serviceEnv, serviceNodeFlags } from '@pullwatch/service-runtime';

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
  /** SIGKILL this long after SIGTERM; default PULLWATCH_STOP_TIMEOUT_MS (of `env`) + KILL_GRACE_MS. */
  stopTimeoutMs?: number;
}

/**
 * What a service gets beyond PULLWATCH_STOP_TIMEOUT_MS (after which it exits by itself, when its event loop
 * still turns) before it is killed: time to say why it was late.
 */
export const KILL_GRACE_MS = 2000;

/** The services this process started and that have not exited: killed if this process exits first. */
const running = new Set<ChildProcess>();
const killGroup = (child: ChildProcess) => {
  try {
    // Its own process group (detached): whatever it started goes too.
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Gone already.
  }
};
let exitHook = false;

/**
 * Preloaded into each service (`--import`): a worker thread, so it runs even while the service's own event
 * loop is stuck (a busy loop is deaf to SIGTERM and never sees its IPC channel close), that kills the
 * service once `pullwatch start` is gone (its parent pid changed: the parent was SIGKILLed or crashed) and
 * `graceMs` more have passed without the service stopping by itself.
 */
export function parentWatchdog(parentPid: number, graceMs: number): string {
  const worker =
    `const t=setInterval(()=>{if(process.ppid!==${parentPid}){clearInterval(t);` +
    `setTimeout(()=>process.kill(process.pid,'SIGKILL'),${graceMs})}},250)`;
  const code = `import{Worker}from'node:worker_threads';new Worker(${JSON.stringify(worker)},{eval:true}).unref();`;
  return `data:text/javascript,${encodeURIComponent(code)}`;
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
 * services in order (sources first), each SIGKILLed (its process group) when it has not stopped
 * PULLWATCH_STOP_TIMEOUT_MS + KILL_GRACE_MS after SIGTERM. If the parent exits, it kills those still running;
 * if the parent dies (SIGKILL), the IPC channel closes and the child stops itself, or, when its event loop
 * is stuck, the parent watchdog kills it.
 */
export async function startServiceProcess(opts: ServiceProcessOptions): Promise<ServiceProcess> {
  const nodeFlags = serviceNodeFlags(opts.service, opts.env.NODE_OPTIONS);
  const killAfterMs = opts.stopTimeoutMs ?? stopTimeoutMs(opts.env) + KILL_GRACE_MS;
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      '--import',
      parentWatchdog(process.pid, killAfterMs),
      opts.cliEntry,
      opts.service,
      ...(opts.args ?? []),
    ],
    {
      env: serviceEnv(opts.service, opts.env),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    },
  );
  running.add(child);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of running) killGroup(c);
    });
  }
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
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const ready = await waitReady(child, opts.service, exited, tail, opts.readyTimeoutMs ?? 120_000);
  return {
    service: opts.service,
    pid: child.pid!,
    url: ready.url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup(child), killAfterMs);
      const { code, signal } = await exited;
      clearTimeout(timer);
      if (signal === 'SIGKILL') opts.line(`${prefix}did not stop within ${killAfterMs} ms and was killed`);
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
      killGroup(child);
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
