import type { Transition } from './evaluate.ts';

export type WebhookFormat = 'generic' | 'alertmanager' | 'slack';
export interface Webhook {
  format: WebhookFormat;
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

/** `generic=http://…,slack=http://…,alertmanager=http://…` (a bare URL is generic). */
export function parseWebhooks(spec: string | undefined): Webhook[] {
  if (!spec?.trim()) return [];
  return spec.split(',').map((part, i) => {
    const m = /^(generic|alertmanager|slack)=(.+)$/.exec(part.trim());
    const format = (m?.[1] ?? 'generic') as WebhookFormat;
    const url = (m?.[2] ?? part).trim();
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      // The entry is not echoed: it may be a secret URL with a typo.
      throw new Error(
        `PULLWATCH_ALERT_WEBHOOKS: entry ${i + 1} is not FORMAT=URL with FORMAT generic, alertmanager or slack`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new Error(`PULLWATCH_ALERT_WEBHOOKS: entry ${i + 1}: only http and https URLs are delivered to`);
    return { format, url };
  });
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

/** Delivers to every webhook, each with a timeout and a few retries; returns the failures. */
export async function deliver(
  hooks: Webhook[],
  transitions: Transition[],
  externalUrl: string,
  opts: { timeoutMs?: number; retries?: number } = {},
): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(
    hooks.map(async (h) => {
      const body = JSON.stringify(payload(h.format, transitions, externalUrl));
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await fetch(h.url, {
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
            const why = (err instanceof Error ? err.message : String(err)).replaceAll(h.url, redactUrl(h.url));
            failures.push(`${h.format} ${redactUrl(h.url)}: ${why}`);
            return;
          }
          await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
        }
      }
    }),
  );
  return failures;
}
