import { describe, expect, it } from 'vitest';
import { parseWebhooks, redactUrl } from './notify.ts';

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
      'PULLWATCH_ALERT_WEBHOOKS: entry 2 is not FORMAT=URL with FORMAT generic, alertmanager or slack',
    );
    expect(() => parseWebhooks('generic=file:///etc/s3cr3t')).toThrow(
      'PULLWATCH_ALERT_WEBHOOKS: entry 1: only http and https URLs are delivered to',
    );
  });
});
