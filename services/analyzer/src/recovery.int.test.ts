import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventEnvelope, isImageEvent, K8sEventSchema, normalizeEvent } from '@pullwatch/event-schema';
import { createMetricsRegistry } from '@pullwatch/telemetry';
import { ServiceStack } from '../../../test/support/service-stack.ts';
import { until } from '../../../test/support/until.ts';

// A Pod failing to pull recovers when its container starts (kubelet's `Started`), also without a
// `Pulled` Event (the image came another way, or that Event expired). The envelopes are exactly those
// the collector forwards: its filter (isImageEvent) decides, as in services/collector.
const stack = new ServiceStack('recovery_it', { env: { PULLWATCH_INCIDENT_INTERVAL_SECONDS: '3600' } });
const { database } = stack;
const admin = ServiceStack.clickhouse();
const T0 = Date.now() - 20 * 60_000;
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();

function event(uid: string, reason: string, message: string, count: number, minute: number) {
  return K8sEventSchema.parse({
    metadata: { uid, name: `web-1.${uid}`, namespace: 'shop', resourceVersion: String(count) },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', fieldPath: 'spec.containers{app}' },
    reason,
    message,
    count,
    firstTimestamp: at(0),
    lastTimestamp: at(minute),
    source: { host: 'node-a' },
  });
}

describe('a failing Pod recovers on Started, end to end', () => {
  beforeAll(async () => {
    await stack.migrate(admin);
    await stack.topics(1);
    await stack.analyzer({ metrics: createMetricsRegistry('recovery-test') });
  });
  afterAll(async () => {
    await stack.stop();
    await admin.close();
  });

  it('stores the Pod as recovered at the Started time, with its time to recover', async () => {
    const img = 'ghcr.io/acme/web:1.2.0';
    const observed = [
      event(
        'f',
        'Failed',
        `Failed to pull image "${img}": rpc error: code = Unknown desc = 503 Service Unavailable`,
        3,
        4,
      ),
      event('b', 'BackOff', `Back-off pulling image "${img}"`, 2, 5),
      event('s', 'Started', 'Started container app', 1, 9),
    ];
    const forwarded = observed.filter((e) => isImageEvent(normalizeEvent(e)));
    expect(forwarded.map((e) => e.reason)).toEqual(['Failed', 'BackOff', 'Started']);
    await stack.produce(
      forwarded.map((e) =>
        eventEnvelope({
          cluster: 'eu-1',
          source: 'http',
          event: e,
          pod: { image: img, imagePullPolicy: 'IfNotPresent', hasPullSecrets: false, node: 'node-a' },
        }),
      ),
    );

    const states = async () => {
      const rs = await admin.query({
        query: `SELECT status, attempts, toUnixTimestamp64Milli(first_failure) AS first,
                  toUnixTimestamp64Milli(recovered_at) AS recovered, time_to_recover_ms AS ttr
                FROM ${database}.pod_pull_state FINAL WHERE pod = 'web-1'`,
        format: 'JSONEachRow',
      });
      return (await rs.json<Record<string, string | number | null>>()).map((r) => ({
        status: r.status,
        attempts: Number(r.attempts),
        first: Number(r.first),
        recovered: r.recovered === null ? null : Number(r.recovered),
        ttr: r.ttr === null ? null : Number(r.ttr),
      }));
    };
    // raw_events is written last for a block: once it holds all three, everything of theirs is stored.
    await until(async () => (await stack.count(admin, 'raw_events')) === 3, 'all three stored');
    expect(await states()).toEqual([
      { status: 'recovered', attempts: 3, first: T0, recovered: T0 + 9 * 60_000, ttr: 9 * 60_000 },
    ]);
    const rs = await admin.query({
      query: `SELECT reason, count() AS n FROM ${database}.raw_events GROUP BY reason ORDER BY reason`,
      format: 'JSONEachRow',
    });
    expect((await rs.json<{ reason: string; n: number | string }>()).map((r) => [r.reason, Number(r.n)])).toEqual([
      ['BackOff', 1],
      ['Failed', 1],
      ['Started', 1],
    ]);
  });
});
