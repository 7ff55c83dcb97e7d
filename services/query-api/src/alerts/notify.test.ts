import { describe, expect, it } from 'vitest';
import type { AlertState, Transition } from './evaluate.ts';
import {
  ALERTMANAGER_RESEND_MS,
  alertmanagerAlertsUrl,
  alertmanagerRound,
  alertmanagerValidityMs,
  parseWebhooks,
  redactUrl,
} from './notify.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const state = (o: Partial<AlertState> & { rule: string; registry: string }): AlertState => ({
  key: `${o.rule}|registry=${o.registry}`,
  instance: {
    rule: o.rule,
    severity: 'critical',
    labels: { registry: o.registry },
    summary: `${o.registry}: 80 % of 10 pulls failed in the last 15 min`,
    value: 0.8,
  },
  status: o.status ?? 'firing',
  activeSince: o.activeSince ?? T0,
  firedAt: o.firedAt === undefined ? T0 : o.firedAt,
  resolvedAt: o.resolvedAt ?? null,
});

describe('PULLWATCH_ALERT_WEBHOOKS', () => {
  it('takes alertmanager-v2=BASE beside the other formats', () => {
    expect(
      parseWebhooks('alertmanager-v2=http://am:9093, alertmanager=http://hook/am,http://plain,slack=https://s/x'),
    ).toEqual([
      { format: 'alertmanager-v2', url: 'http://am:9093' },
      { format: 'alertmanager', url: 'http://hook/am' },
      { format: 'generic', url: 'http://plain' },
      { format: 'slack', url: 'https://s/x' },
    ]);
    expect(() => parseWebhooks('alertmanager-v2=http://am:9093/?x=1')).toThrow(/base URL/);
    expect(() => parseWebhooks('alertmanager-v2=not a url')).toThrow(/alertmanager-v2/);
  });

  it("posts to the Alertmanager's /api/v2/alerts, under its route prefix if it has one", () => {
    expect(alertmanagerAlertsUrl('http://am:9093')).toBe('http://am:9093/api/v2/alerts');
    expect(alertmanagerAlertsUrl('http://am:9093/')).toBe('http://am:9093/api/v2/alerts');
    expect(alertmanagerAlertsUrl('https://ops.example/alertmanager')).toBe(
      'https://ops.example/alertmanager/api/v2/alerts',
    );
  });
});

describe('alertmanagerRound: what an evaluation owes an Alertmanager', () => {
  const url = 'http://pullwatch.example';
  const fires = state({ rule: 'registry_failure_rate', registry: 'docker.io' });
  const other = state({ rule: 'registry_failure_rate', registry: 'ghcr.io', firedAt: T0 + 5000 });

  it('sends every firing alert, valid for four resend intervals, when one starts firing', () => {
    const now = T0 + 5000;
    const transitions: Transition[] = [{ kind: 'firing', alert: other }];
    expect(alertmanagerRound([fires, other], transitions, now, T0, 30_000, url)).toEqual([
      {
        labels: { alertname: 'registry_failure_rate', severity: 'critical', registry: 'docker.io' },
        annotations: { summary: 'docker.io: 80 % of 10 pulls failed in the last 15 min', value: '0.8' },
        startsAt: '2026-12-01T10:00:00.000Z',
        endsAt: '2026-12-01T10:04:05.000Z',
        generatorURL: url,
      },
      {
        labels: { alertname: 'registry_failure_rate', severity: 'critical', registry: 'ghcr.io' },
        annotations: { summary: 'ghcr.io: 80 % of 10 pulls failed in the last 15 min', value: '0.8' },
        startsAt: '2026-12-01T10:00:05.000Z',
        endsAt: '2026-12-01T10:04:05.000Z',
        generatorURL: url,
      },
    ]);
    // A long evaluation interval stretches the validity: 4 × 5 min.
    expect(alertmanagerValidityMs(300_000)).toBe(1_200_000);
  });

  it('sends firing alerts again once a resend interval has passed, and nothing in between', () => {
    expect(alertmanagerRound([fires], [], T0 + ALERTMANAGER_RESEND_MS - 1, T0, 30_000, url)).toBeNull();
    const again = alertmanagerRound([fires], [], T0 + ALERTMANAGER_RESEND_MS, T0, 30_000, url) as {
      endsAt: string;
    }[];
    expect(again.map((a) => a.endsAt)).toEqual(['2026-12-01T10:05:00.000Z']);
  });

  it('ends a resolved alert when it resolved; owes nothing when nothing fires', () => {
    const resolved = { ...fires, status: 'resolved' as const, resolvedAt: T0 + 90_000 };
    const out = alertmanagerRound([resolved], [{ kind: 'resolved', alert: resolved }], T0 + 90_000, T0, 1000, url);
    expect(out).toEqual([
      expect.objectContaining({ startsAt: '2026-12-01T10:00:00.000Z', endsAt: '2026-12-01T10:01:30.000Z' }),
    ]);
    expect(alertmanagerRound([resolved], [], T0 + 10 * ALERTMANAGER_RESEND_MS, T0, 1000, url)).toBeNull();
    const pending = state({ rule: 'stuck_pods', registry: 'x', status: 'pending', firedAt: null });
    expect(alertmanagerRound([pending], [], T0 + 10 * ALERTMANAGER_RESEND_MS, T0, 1000, url)).toBeNull();
  });
});

const SLACK = 'https://hooks.slack.com/services/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';

describe('webhook URLs in logs and errors', () => {
  it('shows only the scheme and host (and port) of a URL', () => {
    expect(redactUrl(SLACK)).toBe('https://hooks.slack.com');
    expect(redactUrl('http://user:pass@127.0.0.1:9093/api/v2/alerts?key=k')).toBe('http://127.0.0.1:9093');
    expect(redactUrl('not a url')).toBe('(not a URL)');
  });

  it('parses FORMAT=URL lists, and names a bad entry by position, never by its text', () => {
    expect(parseWebhooks(`slack=${SLACK}, http://127.0.0.1:1/x`)).toEqual([
      { format: 'slack', url: SLACK },
      { format: 'generic', url: 'http://127.0.0.1:1/x' },
    ]);
    const typo = 'slack=hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/s3cr3t';
    expect(() => parseWebhooks(`generic=http://a.example/x,${typo}`)).toThrow(
      'PULLWATCH_ALERT_WEBHOOKS: entry 2 is not FORMAT=URL with FORMAT generic, alertmanager, alertmanager-v2 or slack',
    );
    expect(() => parseWebhooks('generic=file:///etc/s3cr3t')).toThrow(
      'PULLWATCH_ALERT_WEBHOOKS: entry 1: only http and https URLs are delivered to',
    );
  });
});
