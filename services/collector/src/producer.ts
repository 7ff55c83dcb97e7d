import { injectTraceHeaders } from '@pullwatch/telemetry';
import type { Envelope } from '@pullwatch/event-schema';
import {
  createProducer,
  KafkaPermanentError,
  KafkaTimeoutError,
  type KafkaConnection,
  type KafkaProducer,
} from '@pullwatch/kafka';

/** Kafka could not take the messages now; the caller should answer 503 with Retry-After. */
export class BackPressureError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackPressureError';
  }
}

export interface Outgoing {
  key: string;
  envelope: Envelope;
}

/** An envelope as it is produced: its partition key and its JSON bytes. */
export interface Encoded {
  key: string;
  value: Buffer;
}

/** Encodes at once, so a caller can drop the envelope object before Kafka acknowledges (only the bytes wait). */
export const encodeEnvelope = (o: Outgoing): Encoded => ({
  key: o.key,
  value: Buffer.from(JSON.stringify(o.envelope)),
});

/** How much may wait for Kafka's acknowledgement, and how long a send may wait for room. */
export interface InFlightBounds {
  /** Events in flight at most; a send of more is refused at once. */
  maxEvents: number;
  /** Bytes of encoded envelopes in flight at most (a larger send goes alone, when nothing else is in flight). */
  maxBytes: number;
  /** A send that does not fit waits this long for room (in arrival order) before it is pushed back; 0: at once. */
  admissionWaitMs: number;
}

/** The room a send needs: whether it fits beside what is in flight, and whether it ever can. */
export function admission(
  inFlight: { events: number; bytes: number },
  send: { events: number; bytes: number },
  bounds: Pick<InFlightBounds, 'maxEvents' | 'maxBytes'>,
): 'fits' | 'wait' | 'never' {
  if (send.events > bounds.maxEvents) return 'never';
  if (inFlight.events === 0) return 'fits';
  return inFlight.events + send.events <= bounds.maxEvents && inFlight.bytes + send.bytes <= bounds.maxBytes
    ? 'fits'
    : 'wait';
}

interface Admission {
  events: number;
  bytes: number;
  admit(): void;
}

/**
 * Produces envelopes with acks from all in-sync replicas. A bounded number of events and bytes may be
 * in flight; a send that does not fit waits a moment for room (bounded, in arrival order), then its
 * caller is pushed back instead of buffering without limit. A batch resolves only once Kafka
 * acknowledged all of it. Failures that retrying can fix become BackPressureError; permanent ones
 * (KafkaPermanentError) are passed on as they are.
 */
export class EnvelopeProducer {
  private producer: KafkaProducer | null = null;
  private inFlight = 0;
  private inFlightBytes = 0;
  /** Sends waiting for room, oldest first. */
  private readonly queue: Admission[] = [];
  acknowledged = 0;
  /** Sends that waited for room and got it, and those pushed back after waiting. */
  readonly admissions = { waited: 0, timedOut: 0 };
  /** Why the last attempt to connect failed (naming the setting to fix, when it is one); null once connected. */
  lastError: string | null = null;

  constructor(
    private readonly kafka: KafkaConnection,
    private readonly topic: string,
    private readonly bounds: InFlightBounds,
    private readonly timeoutMs: number,
    /** Opens the Kafka producer (tests pass a stand-in). */
    private readonly open: typeof createProducer = createProducer,
  ) {}

  get ready(): boolean {
    return this.producer !== null;
  }

  get pending(): number {
    return this.inFlight;
  }

  get pendingBytes(): number {
    return this.inFlightBytes;
  }

  async connect(): Promise<void> {
    this.producer = await this.open(this.kafka, { requestTimeoutMs: this.timeoutMs });
    this.lastError = null;
  }

  async send(batch: Encoded[]): Promise<void> {
    if (!batch.length) return;
    if (!this.producer) throw new BackPressureError('not connected to Kafka yet', 2);
    const need = { events: batch.length, bytes: batch.reduce((n, m) => n + m.value.length, 0) };
    await this.admit(need);
    // Waiting for room may have outlasted the connection.
    const producer = this.producer;
    if (!producer) {
      this.release(need);
      throw new BackPressureError('not connected to Kafka', 2);
    }
    const headers = injectTraceHeaders();
    try {
      const sent = producer.send(
        this.topic,
        batch.map((m) => ({ key: m.key, value: m.value, headers })),
      );
      // A late failure of a timed-out send must not crash the process.
      sent.catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new KafkaTimeoutError(`no acknowledgement from Kafka within ${this.timeoutMs} ms`, 'PRODUCE_TIMEOUT'),
            ),
          this.timeoutMs,
        );
      });
      try {
        await Promise.race([sent, timeout]);
      } finally {
        clearTimeout(timer);
      }
      this.acknowledged += batch.length;
    } catch (err) {
      if (err instanceof KafkaPermanentError) throw err;
      throw new BackPressureError(`Kafka unavailable: ${err instanceof Error ? err.message : String(err)}`, 5, {
        cause: err,
      });
    } finally {
      this.release(need);
    }
  }

  /** Resolves once the send is in flight; a BackPressureError when it does not fit in time. */
  private admit(need: { events: number; bytes: number }): Promise<void> {
    const full = () =>
      `${this.inFlight} events (${this.inFlightBytes} bytes) are waiting for Kafka ` +
      `(limits ${this.bounds.maxEvents} events, ${this.bounds.maxBytes} bytes)`;
    const verdict = admission({ events: this.inFlight, bytes: this.inFlightBytes }, need, this.bounds);
    if (verdict === 'never')
      return Promise.reject(
        new BackPressureError(`${need.events} events are more than may wait for Kafka (${this.bounds.maxEvents})`, 2),
      );
    // Those already waiting go first.
    if (verdict === 'fits' && !this.queue.length) {
      this.take(need);
      return Promise.resolve();
    }
    if (this.bounds.admissionWaitMs <= 0) return Promise.reject(new BackPressureError(full(), 2));
    return new Promise<void>((resolve, reject) => {
      const entry: Admission = {
        ...need,
        admit: () => {
          clearTimeout(timer);
          this.admissions.waited += 1;
          this.take(need);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.queue.splice(this.queue.indexOf(entry), 1);
        this.admissions.timedOut += 1;
        reject(new BackPressureError(full(), 2));
        // The oldest may fit now that this one is gone.
        this.wake();
      }, this.bounds.admissionWaitMs);
      this.queue.push(entry);
    });
  }

  private take(need: { events: number; bytes: number }): void {
    this.inFlight += need.events;
    this.inFlightBytes += need.bytes;
  }

  private release(need: { events: number; bytes: number }): void {
    this.inFlight -= need.events;
    this.inFlightBytes -= need.bytes;
    this.wake();
  }

  /** Admits the waiting sends that fit now, oldest first. */
  private wake(): void {
    while (this.queue.length) {
      const next = this.queue[0]!;
      if (admission({ events: this.inFlight, bytes: this.inFlightBytes }, next, this.bounds) !== 'fits') return;
      this.queue.shift();
      next.admit();
    }
  }

  async disconnect(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    await p?.close();
  }
}
