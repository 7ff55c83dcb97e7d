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

/**
 * Produces envelopes with acks from all in-sync replicas. A bounded number of events may be in
 * flight; beyond it callers are pushed back instead of buffering without limit. A batch resolves
 * only once Kafka acknowledged all of it. Failures that retrying can fix become BackPressureError;
 * permanent ones (KafkaPermanentError) are passed on as they are.
 */
export class EnvelopeProducer {
  private producer: KafkaProducer | null = null;
  private inFlight = 0;
  acknowledged = 0;
  /** Why the last attempt to connect failed (naming the setting to fix, when it is one); null once connected. */
  lastError: string | null = null;

  constructor(
    private readonly kafka: KafkaConnection,
    private readonly topic: string,
    private readonly maxInFlight: number,
    private readonly timeoutMs: number,
  ) {}

  get ready(): boolean {
    return this.producer !== null;
  }

  get pending(): number {
    return this.inFlight;
  }

  async connect(): Promise<void> {
    this.producer = await createProducer(this.kafka, { requestTimeoutMs: this.timeoutMs });
    this.lastError = null;
  }

  async send(batch: Outgoing[]): Promise<void> {
    if (!batch.length) return;
    const producer = this.producer;
    if (!producer) throw new BackPressureError('not connected to Kafka yet', 2);
    if (this.inFlight + batch.length > this.maxInFlight) {
      throw new BackPressureError(`${this.inFlight} events are waiting for Kafka (limit ${this.maxInFlight})`, 2);
    }
    this.inFlight += batch.length;
    const headers = injectTraceHeaders();
    try {
      const sent = producer.send(
        this.topic,
        batch.map((m) => ({ key: m.key, value: JSON.stringify(m.envelope), headers })),
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
      this.inFlight -= batch.length;
    }
  }

  async disconnect(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    await p?.close();
  }
}
