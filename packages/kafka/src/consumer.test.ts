import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@pullwatch/telemetry';
import { until as waitUntil } from '../../../test/support/until.ts';
import { MultipleErrors, NetworkError, ProtocolError } from '@platformatic/kafka';
import { BackoffPolicy } from '@pullwatch/backoff';
import { type ConsumerFactory, createGroupConsumer } from './consumer.ts';
import { KafkaAuthorizationError } from './errors.ts';

/** A message stream as the client hands it out: data events, pause/resume, close. */
class FakeStream extends EventEmitter {
  closed = false;
  pause() {}
  resume() {}
  async close() {
    this.closed = true;
  }
}

/**
 * The client as far as the group consumer uses it: consume() opens a stream, and the client emits
 * events of its own (group joins, errors).
 */
class FakeConsumer extends EventEmitter {
  readonly streams: FakeStream[] = [];
  assignments = [{ topic: 't', partitions: [0] }];
  async consume() {
    const s = new FakeStream();
    this.streams.push(s);
    return s;
  }
  async commit() {}
  close(_force: boolean, cb: (err?: Error) => void) {
    cb();
  }
}

const until = (ok: () => boolean, what: string) => waitUntil(ok, what, 5000, 5);

/** A back-off of a minute between attempts whose waits are counted (the package's own sleep, which an abort cuts short). */
function minuteBackoff() {
  const waits = { begun: 0 };
  const { sleep } = new BackoffPolicy({ baseMs: 1, maxMs: 1 });
  const policy = new BackoffPolicy({
    baseMs: 60_000,
    maxMs: 60_000,
    random: () => 1,
    sleep: (ms, signal) => {
      waits.begun += 1;
      return sleep(ms, signal);
    },
  });
  return { policy, waits };
}

/** A client whose first group joins fail with `failures` (in order), then succeed. */
class FailingFirstConsumer extends FakeConsumer {
  joins = 0;
  constructor(private readonly failures: Error[]) {
    super();
  }
  override async consume() {
    const failure = this.failures[this.joins++];
    if (failure) throw failure;
    return super.consume();
  }
}

const groupConsumer = (client: FakeConsumer, restartBackoff?: BackoffPolicy) =>
  createGroupConsumer(
    { brokers: ['127.0.0.1:1'], clientId: 'c', logger: createLogger('t', 'silent') },
    {
      groupId: 'g',
      topic: 't',
      sessionTimeoutMs: 6000,
      minBytes: 1,
      maxWaitMs: 100,
      maxBytesPerPartition: 1024,
      ...(restartBackoff ? { restartBackoff } : {}),
    },
    {},
    (() => client) as unknown as ConsumerFactory,
  );

describe('createGroupConsumer', () => {
  it('joins again when the first join fails for a reason that can pass (the coordinator broker down)', async () => {
    // As seen in CI: a broker still starting after a restart held the group's coordinator, and the client's
    // own retries ran out ("joinGroup failed 9 times"); the analyzer exited instead of waiting for it.
    const down = () => new NetworkError('Connection to 127.0.0.1:28470 failed.');
    const client = new FailingFirstConsumer([down(), down()]);
    const gc = groupConsumer(client);
    await gc.run(async () => {});
    expect([client.joins, client.streams.length]).toEqual([3, 1]);
    await gc.close();
  });

  it('ends the first join at once on an error no retry can fix (authorization)', async () => {
    const denied = new MultipleErrors('joinGroup failed', [new ProtocolError('GROUP_AUTHORIZATION_FAILED')]);
    const client = new FailingFirstConsumer([denied, denied]);
    const gc = groupConsumer(client);
    await expect(gc.run(async () => {})).rejects.toBeInstanceOf(KafkaAuthorizationError);
    expect(client.joins).toBe(1);
    await gc.close();
  });

  it("restarts consumption when the client emits 'error' (a rejoin out of retries) instead of crashing", async () => {
    const client = new FakeConsumer();
    const factory = (() => client) as unknown as ConsumerFactory;
    const restarts: string[] = [];
    const gc = createGroupConsumer(
      { brokers: ['127.0.0.1:1'], clientId: 'c', logger: createLogger('t', 'silent') },
      { groupId: 'g', topic: 't', sessionTimeoutMs: 6000, minBytes: 1, maxWaitMs: 100, maxBytesPerPartition: 1024 },
      { restarting: (err) => restarts.push(err instanceof Error ? err.message : String(err)) },
      factory,
    );
    const handled: number[] = [];
    await gc.run(async (batch) => {
      handled.push(...batch.messages.map((m) => m.offset));
    });
    expect(client.streams).toHaveLength(1);

    // Without a listener, EventEmitter throws an 'error' event at the emitter: the process would end.
    client.emit('error', new Error('rejoinGroup failed 9 times.'));
    await until(() => client.streams[0]!.closed, 'the first stream closed');
    expect(restarts).toEqual(['rejoinGroup failed 9 times.']);
    // After the back-off, a new stream (a new group join) delivers messages again.
    await until(() => client.streams.length === 2, 'a second stream opened');
    client.streams[1]!.emit('data', {
      topic: 't',
      partition: 0,
      offset: 7n,
      key: null,
      value: null,
      headers: new Map(),
    });
    await until(() => handled.length === 1, 'the batch handled');
    expect(handled).toEqual([7]);
    await gc.close();
  });

  it("logs an 'error' between streams and opens the next stream as planned", async () => {
    const client = new FakeConsumer();
    const gc = createGroupConsumer(
      { brokers: ['127.0.0.1:1'], clientId: 'c', logger: createLogger('t', 'silent') },
      { groupId: 'g', topic: 't', sessionTimeoutMs: 6000, minBytes: 1, maxWaitMs: 100, maxBytesPerPartition: 1024 },
      {},
      (() => client) as unknown as ConsumerFactory,
    );
    // Not running yet: no stream to end, and no throw.
    expect(() => client.emit('error', new Error('lost'))).not.toThrow();
    await gc.run(async () => undefined);
    expect(client.streams).toHaveLength(1);
    await gc.close();
  });

  it('closes at once while waiting to restart, not after the back-off', async () => {
    // After its first stream, every group join fails: the consumer waits a minute between attempts.
    class DownAfterFirst extends FakeConsumer {
      override async consume() {
        if (this.streams.length) throw new NetworkError('Connection to 127.0.0.1:1 failed.');
        return super.consume();
      }
    }
    const client = new DownAfterFirst();
    const minute = minuteBackoff();
    const gc = groupConsumer(client, minute.policy);
    await gc.run(async () => undefined);
    client.streams[0]!.emit('error', new Error('lost'));
    await until(() => client.streams[0]!.closed && minute.waits.begun === 1, 'the stream closed, the back-off begun');
    const t0 = Date.now();
    let closed = false;
    const closing = gc.close().then(() => {
      closed = true;
    });
    await until(() => closed, 'close() to resolve');
    await closing;
    // Far from the minute the back-off would have taken.
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('closes at once while the first join waits to try again, and run() ends without a stream', async () => {
    const down = () => new NetworkError('Connection to 127.0.0.1:1 failed.');
    const client = new FailingFirstConsumer([down(), down(), down()]);
    const minute = minuteBackoff();
    const gc = groupConsumer(client, minute.policy);
    let ran = false;
    const running = gc
      .run(async () => undefined)
      .then(() => {
        ran = true;
      });
    await until(() => client.joins === 1 && minute.waits.begun === 1, 'the first join failed, the back-off begun');
    const t0 = Date.now();
    await gc.close();
    await until(() => ran, 'run() to end');
    await running;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect([client.joins, client.streams.length]).toEqual([1, 0]);
  });
});
