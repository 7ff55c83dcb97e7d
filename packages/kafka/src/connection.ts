import type { Logger } from '@pullwatch/telemetry';
import { type KafkaSecurity, securityOptions } from './security.ts';

/** Where and as whom a client connects. */
export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** TLS and SASL (`kafkaSecurityConfig`); absent: plaintext without authentication. */
  security?: KafkaSecurity;
}

/** Options every client of ours shares: retries with back-off, and bounded request timeouts. */
export function baseOptions(conn: KafkaConnection, requestTimeoutMs = 30_000) {
  return {
    clientId: conn.clientId,
    bootstrapBrokers: conn.brokers,
    timeout: requestTimeoutMs,
    retries: 8,
    retryDelay: 300,
    // Topics are created explicitly (ensureTopics), with the partitions pullwatch wants.
    autocreateTopics: false,
    ...securityOptions(conn.security),
  };
}
