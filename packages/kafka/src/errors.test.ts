import { describe, expect, it } from 'vitest';
import { MultipleErrors, NetworkError, ProtocolError, TimeoutError, UserError } from '@platformatic/kafka';
import {
  classifyKafkaError,
  KafkaAuthorizationError,
  KafkaInvalidRequestError,
  KafkaMessageTooLargeError,
  KafkaRetryableError,
  KafkaTimeoutError,
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
