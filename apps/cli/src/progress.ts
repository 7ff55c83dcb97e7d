/**
 * Progress of a long job as users expect it: what is done, the rate, how far along and the time left. On a
 * terminal one line is redrawn in place with a bar; elsewhere (CI, a pipe, a log file) a plain line is
 * written every few seconds, so logs stay readable. Formatting is pure; only `createProgress` writes.
 */

export interface ProgressSnapshot {
  /** Units done so far (events sent, rows written…). */
  done: number;
  /** How far along, 0..1, when the whole is known (bytes read of a file, items of a list); else null. */
  fraction: number | null;
  elapsedMs: number;
}

const BAR_WIDTH = 24;

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** `12,000 events · 30% · 3,400 events/s · ETA 0:08` (with `bar`, a bar leads the line). */
export function progressLine(unit: string, p: ProgressSnapshot, bar = false): string {
  const parts = [`${p.done.toLocaleString('en-US')} ${unit}`];
  const f = p.fraction === null ? null : Math.min(1, Math.max(0, p.fraction));
  if (f !== null) parts.push(`${Math.floor(f * 100)}%`);
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  parts.push(`${Math.round(rate).toLocaleString('en-US')} ${unit}/s`);
  // The time left follows the fraction's pace; none is claimed before there is one.
  if (f !== null && f > 0 && f < 1) parts.push(`ETA ${clock((p.elapsedMs * (1 - f)) / f)}`);
  const text = parts.join(' · ');
  if (!bar || f === null) return text;
  const filled = Math.round(f * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${text}`;
}

export interface ProgressOptions {
  unit: string;
  stream: { write(text: string): unknown; isTTY?: boolean };
  now?: () => number;
  /** How often a plain line is written when the stream is not a terminal. */
  plainEveryMs?: number;
}

export interface Progress {
  update(done: number, fraction: number | null): void;
  /** The last line, on a line of its own. */
  finish(done: number): void;
}

export function createProgress(opts: ProgressOptions): Progress {
  const now = opts.now ?? Date.now;
  const started = now();
  const tty = Boolean(opts.stream.isTTY);
  // A terminal is redrawn a few times a second at most; a log gets a line every few seconds.
  const every = tty ? 200 : (opts.plainEveryMs ?? 5000);
  let last = started;
  let drawn = false;
  return {
    update(done, fraction) {
      const t = now();
      if (t - last < every) return;
      last = t;
      const line = progressLine(opts.unit, { done, fraction, elapsedMs: t - started }, tty);
      opts.stream.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      drawn = true;
    },
    finish(done) {
      const line = progressLine(opts.unit, { done, fraction: 1, elapsedMs: now() - started }, tty);
      if (tty) opts.stream.write(`\r\x1b[2K${line}\n`);
      else if (drawn) opts.stream.write(`${line}\n`);
    },
  };
}
