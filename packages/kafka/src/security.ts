import { readFileSync } from 'node:fs';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0', '']).transform((v) => v === 'true' || v === '1');
const file = z.string().trim().min(1).optional();

/** The Kafka security settings, one schema for every process that talks to Kafka. */
const KafkaSecurityEnvShape = {
  PULLWATCH_KAFKA_SSL: bool.default(false),
  PULLWATCH_KAFKA_SSL_CA_FILE: file,
  PULLWATCH_KAFKA_SSL_CERT_FILE: file,
  PULLWATCH_KAFKA_SSL_KEY_FILE: file,
  PULLWATCH_KAFKA_SASL_MECHANISM: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).optional(),
  PULLWATCH_KAFKA_SASL_USERNAME: z.string().optional(),
  PULLWATCH_KAFKA_SASL_PASSWORD: z.string().optional(),
};

const EnvSchema = z.object(KafkaSecurityEnvShape);

export type KafkaSaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** How every Kafka client connects: TLS (with the trusted CA and an optional client certificate) and SASL. */
export interface KafkaSecurity {
  /** Absent: plaintext. Present: TLS, verifying the broker's certificate (against `ca`, else Node's CAs). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
}

/** A Kafka setting that is missing, contradictory or unreadable; names the variable. */
export class KafkaSettingError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'KafkaSettingError';
  }
}

function readSetting(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new KafkaSettingError(setting, `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Parses the Kafka security settings once, at the edge, and reads the files they name (CA, client
 * certificate and key), so a wrong path fails at start naming the variable.
 * `PULLWATCH_KAFKA_SSL_*_FILE` without `PULLWATCH_KAFKA_SSL=true` is refused rather than ignored.
 */
export function kafkaSecurityConfig(env: NodeJS.ProcessEnv = process.env): KafkaSecurity {
  const r = EnvSchema.safeParse(env);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new KafkaSettingError(String(i.path[0]), i.message);
  }
  const e = r.data;
  const out: KafkaSecurity = {};
  const files = [
    ['PULLWATCH_KAFKA_SSL_CA_FILE', e.PULLWATCH_KAFKA_SSL_CA_FILE],
    ['PULLWATCH_KAFKA_SSL_CERT_FILE', e.PULLWATCH_KAFKA_SSL_CERT_FILE],
    ['PULLWATCH_KAFKA_SSL_KEY_FILE', e.PULLWATCH_KAFKA_SSL_KEY_FILE],
  ] as const;
  if (!e.PULLWATCH_KAFKA_SSL) {
    const set = files.find(([, v]) => v);
    if (set) throw new KafkaSettingError(set[0], 'set, but PULLWATCH_KAFKA_SSL is not true (TLS is off)');
  } else {
    if (!!e.PULLWATCH_KAFKA_SSL_CERT_FILE !== !!e.PULLWATCH_KAFKA_SSL_KEY_FILE)
      throw new KafkaSettingError(
        e.PULLWATCH_KAFKA_SSL_CERT_FILE ? 'PULLWATCH_KAFKA_SSL_KEY_FILE' : 'PULLWATCH_KAFKA_SSL_CERT_FILE',
        'a client certificate needs both PULLWATCH_KAFKA_SSL_CERT_FILE and PULLWATCH_KAFKA_SSL_KEY_FILE',
      );
    out.tls = {
      ...(e.PULLWATCH_KAFKA_SSL_CA_FILE ? { ca: readSetting(files[0][0], e.PULLWATCH_KAFKA_SSL_CA_FILE) } : {}),
      ...(e.PULLWATCH_KAFKA_SSL_CERT_FILE ? { cert: readSetting(files[1][0], e.PULLWATCH_KAFKA_SSL_CERT_FILE) } : {}),
      ...(e.PULLWATCH_KAFKA_SSL_KEY_FILE ? { key: readSetting(files[2][0], e.PULLWATCH_KAFKA_SSL_KEY_FILE) } : {}),
    };
  }
  if (e.PULLWATCH_KAFKA_SASL_MECHANISM) {
    if (!e.PULLWATCH_KAFKA_SASL_USERNAME)
      throw new KafkaSettingError(
        'PULLWATCH_KAFKA_SASL_USERNAME',
        `needed with PULLWATCH_KAFKA_SASL_MECHANISM=${e.PULLWATCH_KAFKA_SASL_MECHANISM}`,
      );
    if (e.PULLWATCH_KAFKA_SASL_PASSWORD === undefined || e.PULLWATCH_KAFKA_SASL_PASSWORD === '')
      throw new KafkaSettingError(
        'PULLWATCH_KAFKA_SASL_PASSWORD',
        `needed with PULLWATCH_KAFKA_SASL_MECHANISM=${e.PULLWATCH_KAFKA_SASL_MECHANISM}`,
      );
    out.sasl = {
      mechanism: e.PULLWATCH_KAFKA_SASL_MECHANISM,
      username: e.PULLWATCH_KAFKA_SASL_USERNAME,
      password: e.PULLWATCH_KAFKA_SASL_PASSWORD,
    };
  } else if (e.PULLWATCH_KAFKA_SASL_USERNAME || e.PULLWATCH_KAFKA_SASL_PASSWORD) {
    throw new KafkaSettingError(
      'PULLWATCH_KAFKA_SASL_MECHANISM',
      'needed with PULLWATCH_KAFKA_SASL_USERNAME/PASSWORD (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)',
    );
  }
  return out;
}

/** The client library's connection options for these settings. */
export function securityOptions(security: KafkaSecurity | undefined): {
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
} {
  return {
    ...(security?.tls ? { tls: { ...security.tls } } : {}),
    ...(security?.sasl ? { sasl: { ...security.sasl } } : {}),
  };
}
