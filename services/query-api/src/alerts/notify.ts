import type { AlertState, Transition } from './evaluate.ts';
import { BackoffPolicy } from '@pullwatch/backoff';

// Between a webhook's attempts (PULLWATCH_ALERT_WEBHOOKS): 500 ms doubling, full jitter.
const NOTIFY_BACKOFF = new BackoffPolicy({ baseMs: 500, maxMs: 4_000 });

/**
 * `alertmanager` posts the payload Alertmanager sends to its own webhook receivers; `alertmanager-v2` posts
 * into an Alertmanager itself (its API v2), as Prometheus does.
 */
export type WebhookFormat = 'generic' | 'alertmanager' | 'slack' | 'alertmanager-v2';
export interface Webhook {
  format: WebhookFormat;
  /** Where to POST; for `alertmanager-v2`, the Alertmanager's base URL. */
  url: string;
}

/**
 * A webhook URL as logs may show it: scheme and host only. The path and query of a webhook are often its
 * secret (a Slack incoming webhook's path is its credential), and so is any user:password.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(not a URL)';
  }
}

/** `generic=http://…,slack=http://…,alertmanager=http://…,alertmanager-v2=http://…` (a bare URL is generic). */
export function parseWebhooks(spec: string | undefined): Webhook[] {
  if (!spec?.trim()) return [];
  return spec.split(',').map((part, i) => {
    const m = /^(generic|alertmanager-v2|alertmanager|slack)=(.+)$/.exec(part.trim());
    const format = (m?.[1] ?? 'generic') as WebhookFormat;
    const url = (m?.[2] ?? part).trim();
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      // The entry is not echoed: it may be a secret URL with a typo.
      throw new Error(
        `PULLWATCH_ALERT_WEBHOOKS: entry ${i + 1} is not FORMAT=URL with FORMAT generic, alertmanager, ` +
          'alertmanager-v2 or slack',
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new Error(`PULLWATCH_ALERT_WEBHOOKS: entry ${i + 1}: only http and https URLs are delivered to`);
    if (format === 'alertmanager-v2' && (parsed.search || parsed.hash))
      throw new Error(
        `PULLWATCH_ALERT_WEBHOOKS: entry ${i + 1}: alertmanager-v2 takes the Alertmanager's base URL (with its ` +
          'route prefix, if any), without a query',
      );
    return { format, url };
  });
}

/** Alertmanager's alerts endpoint under its base URL (which may carry a route prefix). */
export const alertmanagerAlertsUrl = (base: string) =>
  new URL('api/v2/alerts', base.endsWith('/') ? base : `${base}/`).toString();

/**
 * How often firing alerts are sent to an Alertmanager again, and how long each send keeps them firing there:
 * Alertmanager resolves an alert whose `endsAt` passes, so a query API that stops (or loses the alert state
 * in a restart) lets its alerts resolve instead of firing forever. The same rule as Prometheus's: resend
 * every minute, valid for four times the longer of that and the evaluation interval.
 */
export const ALERTMANAGER_RESEND_MS = 60_000;
export const alertmanagerValidityMs = (intervalMs: number) => 4 * Math.max(ALERTMANAGER_RESEND_MS, intervalMs);

/** The body of POST /api/v2/alerts: firing alerts valid until `validUntil`, resolved ones ended when they resolved. */
export function alertmanagerAlerts(
  firing: AlertState[],
  resolved: AlertState[],
  validUntil: number,
  externalUrl: string,
): unknown[] {
  const one = (a: AlertState, endsAt: number) => ({
    labels: { alertname: a.instance.rule, severity: a.instance.severity, ...a.instance.labels },
    annotations: { summary: a.instance.summary, value: String(a.instance.value) },
    startsAt: iso(a.firedAt ?? a.activeSince),
    endsAt: iso(endsAt),
    generatorURL: externalUrl,
  });
  return [...firing.map((a) => one(a, validUntil)), ...resolved.map((a) => one(a, a.resolvedAt ?? validUntil))];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The JSON body a webhook of this format receives for these transitions. */
export function payload(format: WebhookFormat, transitions: Transition[], externalUrl: string): unknown {
  if (format === 'alertmanager') {
    // The Alertmanager webhook payload (version 4), so receivers written for Alertmanager work as they are.
    const alerts = transitions.map((t) => ({
      status: t.kind,
      labels: { alertname: t.alert.instance.rule, severity: t.alert.instance.severity, ...t.alert.instance.labels },
      annotations: { summary: t.alert.instance.summary },
      startsAt: iso(t.alert.firedAt),
      endsAt: t.kind === 'resolved' ? iso(t.alert.resolvedAt) : '0001-01-01T00:00:00Z',
      generatorURL: externalUrl,
      fingerprint: Buffer.from(t.alert.key).toString('base64url').slice(0, 16),
    }));
    const firing = alerts.some((a) => a.status === 'firing');
    return {
      version: '4',
      groupKey: 'pullwatch',
      status: firing ? 'firing' : 'resolved',
      receiver: 'pullwatch',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: externalUrl,
      truncatedAlerts: 0,
      alerts,
    };
  }
  if (format === 'slack') {
    const lines = transitions.map(
      (t) =>
        `${t.kind === 'firing' ? ':rotating_light: FIRING' : ':white_check_mark: RESOLVED'} ` +
        `*${t.alert.instance.rule}* — ${t.alert.instance.summary}`,
    );
    return { text: lines.join('\n') };
  }
  return {
    source: 'pullwatch',
    alerts: transitions.map((t) => ({
      status: t.kind,
      rule: t.alert.instance.rule,
      severity: t.alert.instance.severity,
      labels: t.alert.instance.labels,
      summary: t.alert.instance.summary,
      value: t.alert.instance.value,
      startsAt: iso(t.alert.firedAt),
      endsAt: iso(t.alert.resolvedAt),
    })),
  };
}

export interface DeliveryOptions {
  timeoutMs?: number;
  retries?: number;
}

/**
 * What one evaluation owes the Alertmanagers: when an alert changed, or the last send is a resend interval
 * old, every alert firing now plus those that just resolved; null when nothing is owed or nothing fires.
 */
export function alertmanagerRound(
  states: Iterable<AlertState>,
  transitions: Transition[],
  now: number,
  lastSentAt: number,
  intervalMs: number,
  externalUrl: string,
): unknown[] | null {
  if (!transitions.length && now - lastSentAt < ALERTMANAGER_RESEND_MS) return null;
  const firing = [...states].filter((s) => s.status === 'firing');
  const resolved = transitions.filter((t) => t.kind === 'resolved').map((t) => t.alert);
  if (!firing.length && !resolved.length) return null;
  return alertmanagerAlerts(firing, resolved, now + alertmanagerValidityMs(intervalMs), externalUrl);
}

/** Delivers to every webhook, each with a timeout and a few retries; returns the failures. */
export async function deliver(
  hooks: Webhook[],
  transitions: Transition[],
  externalUrl: string,
  opts: DeliveryOptions = {},
): Promise<string[]> {
  return post(
    hooks.filter((h) => h.format !== 'alertmanager-v2'),
    (h) => ({ url: h.url, body: JSON.stringify(payload(h.format, transitions, externalUrl)) }),
    opts,
  );
}

/** Posts alerts into every `alertmanager-v2` target (POST /api/v2/alerts); returns the failures. */
export async function deliverToAlertmanagers(
  hooks: Webhook[],
  alerts: unknown[],
  opts: DeliveryOptions = {},
): Promise<string[]> {
  const body = JSON.stringify(alerts);
  return post(
    hooks.filter((h) => h.format === 'alertmanager-v2'),
    (h) => ({ url: alertmanagerAlertsUrl(h.url), body }),
    opts,
  );
}

async function post(
  hooks: Webhook[],
  request: (h: Webhook) => { url: string; body: string },
  opts: DeliveryOptions,
): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(
    hooks.map(async (h) => {
      const { url, body } = request(h);
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
          });
          if (res.ok) return;
          throw new Error(`HTTP ${res.status}`);
        } catch (err) {
          if (attempt >= (opts.retries ?? 2)) {
            // Never the whole URL: a message may quote it (and a Slack URL is a credential).
            const why = (err instanceof Error ? err.message : String(err))
              .replaceAll(url, redactUrl(url))
              .replaceAll(h.url, redactUrl(h.url));
            failures.push(`${h.format} ${redactUrl(h.url)}: ${why}`);
            return;
          }
          await NOTIFY_BACKOFF.sleep(NOTIFY_BACKOFF.delay(attempt));
        }
      }
    }),
  );
  return failures;
}
