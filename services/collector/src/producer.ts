import type { Kafka, Producer } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import { injectTraceHeaders } from '@pullwatch/telemetry';
import type { Envelope } from '@pullwatch/event-schema';

/** Kafka could not take the messages now; the caller should answer 503 with Retry-After. */
export class BackPressureError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
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
 * only once Kafka acknowledged all of it.
 */
export class EnvelopeProducer {
  private producer: Producer;
  private inFlight = 0;
  private connected = false;
  acknowledged = 0;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly maxInFlight: number,
    private readonly timeoutMs: number,
  ) {
    // Idempotence keeps kafkajs's own retries from writing a message twice.
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 200 },
    });
  }

  get ready(): boolean {
    return this.connected;
  }

  get pending(): number {
    return this.inFlight;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  async send(batch: Outgoing[]): Promise<void> {
    if (!batch.length) return;
    if (this.inFlight + batch.length > this.maxInFlight) {
      throw new BackPressureError(`${this.inFlight} events are waiting for Kafka (limit ${this.maxInFlight})`, 2);
    }
    this.inFlight += batch.length;
    const headers = injectTraceHeaders();
    try {
      const sent = this.producer.send({
        topic: this.topic,
        acks: -1,
        timeout: this.timeoutMs,
        compression: CompressionTypes.None,
        messages: batch.map((m) => ({ key: m.key, value: JSON.stringify(m.envelope), headers })),
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no acknowledgement from Kafka within ${this.timeoutMs} ms`)),
          this.timeoutMs,
        );
      });
      try {
        await Promise.race([sent, timeout]);
      } finally {
        clearTimeout(timer);
      }
      // A late failure of a timed-out send must not crash the process.
      sent.catch(() => undefined);
      this.acknowledged += batch.length;
    } catch (err) {
      throw new BackPressureError(`Kafka unavailable: ${err instanceof Error ? err.message : String(err)}`, 5);
    } finally {
      this.inFlight -= batch.length;
    }
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    await this.producer.disconnect();
  }
}
