import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  TimeoutError,
  UserError,
} from '@platformatic/kafka';
import {
  classifyKafkaError,
  KafkaAuthenticationError,
  KafkaAuthorizationError,
  KafkaInvalidRequestError,
  KafkaMessageTooLargeError,
  KafkaRetryableError,
  KafkaTimeoutError,
  KafkaTlsError,
} from './errors.ts';

/** As the client reports a produce failure: the broker's per-partition errors inside one aggregate. */
const fromBroker = (id: string) => new MultipleErrors('Produce failed', [new ProtocolError(id)]);

describe('classifyKafkaError', () => {
  it('decides by the broker error code, nested as the client nests it', () => {
    expect(classifyKafkaError(fromBroker('MESSAGE_TOO_LARGE'))).toBeInstanceOf(KafkaMessageTooLargeError);
    expect(classifyKafkaError(fromBroker('RECORD_LIST_TOO_LARGE'))).toBeInstanceOf(KafkaMessageTooLargeError);
    expect(classifyKafkaError(fromBroker('TOPIC_AUTHORIZATION_FAILED'))).toBeInstanceOf(KafkaAuthorizationError);
    expect(classifyKafkaError(fromBroker('INVALID_TOPIC_EXCEPTION'))).toBeInstanceOf(KafkaInvalidRequestError);
    const notLeader = classifyKafkaError(fromBroker('NOT_LEADER_OR_FOLLOWER'));
    expect(notLeader).toBeInstanceOf(KafkaRetryableError);
    expect([notLeader.retryable, notLeader.reason]).toEqual([true, 'NOT_LEADER_OR_FOLLOWER']);
    expect(classifyKafkaError(fromBroker('NOT_ENOUGH_REPLICAS')).retryable).toBe(true);
  });

  it('treats lost connections and timeouts as retryable, the client refusing its input as permanent', () => {
    expect(classifyKafkaError(new NetworkError('Connection closed'))).toBeInstanceOf(KafkaRetryableError);
    expect(classifyKafkaError(new TimeoutError('Request timed out'))).toBeInstanceOf(KafkaTimeoutError);
    const invalid = classifyKafkaError(new UserError('Invalid message'));
    expect([invalid.constructor, invalid.retryable]).toEqual([KafkaInvalidRequestError, false]);
    // Anything unknown is retryable: pushing back is safe, refusing for good is not.
    expect(classifyKafkaError(new Error('something else')).retryable).toBe(true);
  });
});

describe('classifyKafkaError on secure connections', () => {
  /** As the library reports a failed connection: a NetworkError over the socket's or SASL's error. */
  const connectionFailed = (cause: Error) =>
    new MultipleErrors('metadata failed 1 times.', [
      new NetworkError('Connection to 127.0.0.1:9093 failed.', { cause }),
    ]);
  const tlsFailure = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('names PULLWATCH_KAFKA_SSL_CA_FILE for a broker certificate no trusted CA signed', () => {
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    ]) {
      const e = classifyKafkaError(connectionFailed(tlsFailure(code, 'unable to verify the first certificate')));
      expect(e).toBeInstanceOf(KafkaTlsError);
      expect([e.reason, (e as KafkaTlsError).setting, e.retryable]).toEqual([
        code,
        'PULLWATCH_KAFKA_SSL_CA_FILE',
        false,
      ]);
      expect(e.message).toBe(
        `Kafka TLS: the broker's certificate is not trusted (${code}); check PULLWATCH_KAFKA_SSL_CA_FILE (the ` +
          `CA that signed the brokers' certificates): metadata failed 1 times.: Connection to 127.0.0.1:9093 ` +
          `failed.: unable to verify the first certificate`,
      );
    }
    // TLS to a plaintext port: the library's UserError over the reset handshake.
    const reset = tlsFailure(
      'ECONNRESET',
      'Client network socket disconnected before secure TLS connection was established',
    );
    const plaintext = classifyKafkaError(
      connectionFailed(new UserError('TLS handshake failed. Please verify the broker supports TLS.', { cause: reset })),
    );
    expect([plaintext.constructor, plaintext.reason, (plaintext as KafkaTlsError).setting]).toEqual([
      KafkaTlsError,
      'TLS_HANDSHAKE_FAILED',
      'PULLWATCH_KAFKA_SSL',
    ]);
    // An invalid message and a reset connection side by side are not a TLS failure.
    const mixed = classifyKafkaError(new MultipleErrors('Produce failed', [new UserError('Invalid message'), reset]));
    expect(mixed).not.toBeInstanceOf(KafkaTlsError);
    const host = classifyKafkaError(
      connectionFailed(tlsFailure('ERR_TLS_CERT_ALTNAME_INVALID', 'IP: 10.0.0.1 is not in the cert')),
    );
    expect((host as KafkaTlsError).setting).toBe('PULLWATCH_KAFKA_BROKERS');
  });

  it('names PULLWATCH_KAFKA_SASL_PASSWORD when SASL authentication fails', () => {
    const e = classifyKafkaError(
      connectionFailed(
        new AuthenticationError('SASL authentication failed.', { cause: fromBroker('SASL_AUTHENTICATION_FAILED') }),
      ),
    );
    expect(e).toBeInstanceOf(KafkaAuthenticationError);
    expect(e).toBeInstanceOf(KafkaAuthorizationError);
    expect([e.reason, (e as KafkaAuthenticationError).setting, e.retryable]).toEqual([
      'SASL_AUTHENTICATION_FAILED',
      'PULLWATCH_KAFKA_SASL_PASSWORD',
      false,
    ]);
    const mechanism = classifyKafkaError(
      connectionFailed(
        new AuthenticationError('Cannot find a suitable SASL mechanism.', {
          cause: fromBroker('UNSUPPORTED_SASL_MECHANISM'),
        }),
      ),
    );
    expect((mechanism as KafkaAuthenticationError).setting).toBe('PULLWATCH_KAFKA_SASL_MECHANISM');
  });
});
