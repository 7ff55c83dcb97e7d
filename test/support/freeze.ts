import { readdirSync, readFileSync } from 'node:fs';
import { until } from './until.ts';

/** The state letter of each thread of `pid` (R, S, D, T, …), from /proc; a thread gone meanwhile is left out. */
function threadStates(pid: number): string[] {
  const states: string[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the state follows the last ") ".
      states.push(stat.charAt(stat.lastIndexOf(') ') + 2));
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return states;
}

/**
 * Freezes a process (SIGSTOP) and resolves once every one of its threads is stopped. `kill` returns as
 * soon as the signal is queued: the kernel wakes one thread, which stops the others when it next runs,
 * so on a busy machine the rest (a broker's network and request threads) keep answering for a while.
 * Measured on a busy 2-core box: right after `kill`, anywhere from none to all of a Kafka broker's ~105
 * threads were still not stopped.
 */
export async function freeze(pid: number, what = `pid ${pid}`): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  await until(
    // Stopped (T, or t under a tracer), or a thread already exiting (Z, X): none can answer any more.
    () => threadStates(pid).every((s) => 'TtZX'.includes(s)),
    `every thread of ${what} to stop`,
    10_000,
    5,
  );
}

/** Resumes a frozen process (SIGCONT) and resolves once none of its threads is stopped any more. */
export async function thaw(pid: number, what = `pid ${pid}`): Promise<void> {
  process.kill(pid, 'SIGCONT');
  await until(
    () => threadStates(pid).every((s) => s !== 'T' && s !== 't'),
    `every thread of ${what} to run again`,
    10_000,
    5,
  );
}
