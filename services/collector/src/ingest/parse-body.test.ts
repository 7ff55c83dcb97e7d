import { describe, expect, it } from 'vitest';
import { BodyError, parseEventsBody } from './parse-body.ts';

const ev = (name: string, extra: object = {}) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: 'ns', uid: `u-${name}` },
  involvedObject: { kind: 'Pod', name: 'p', namespace: 'ns' },
  reason: 'Pulling',
  message: 'Pulling image "x"',
  ...extra,
});

describe('parseEventsBody', () => {
  it('reads a JSON array, an EventList and a single Event', () => {
    expect(parseEventsBody(JSON.stringify([ev('a'), ev('b')])).map((e) => e.event.metadata.name)).toEqual(['a', 'b']);
    expect(parseEventsBody(JSON.stringify({ kind: 'EventList', items: [ev('c')] })).map((e) => e.where)).toEqual([
      'items[0]',
    ]);
    expect(parseEventsBody(JSON.stringify(ev('d')))).toHaveLength(1);
  });

  it('reads NDJSON of Events and watch events, skipping bookmarks and deletions', () => {
    const body = [
      JSON.stringify(ev('a')),
      '',
      JSON.stringify({ type: 'MODIFIED', object: ev('b') }),
      JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Event', metadata: { resourceVersion: '9' } } }),
      JSON.stringify({ type: 'DELETED', object: ev('c') }),
    ].join('\n');
    const parsed = parseEventsBody(body);
    expect(parsed.map((p) => [p.event.metadata.name, p.watchType])).toEqual([
      ['a', undefined],
      ['b', 'MODIFIED'],
    ]);
  });

  it('names the offending line or item and rejects the whole body', () => {
    expect(() => parseEventsBody(`${JSON.stringify(ev('a'))}\n{"oops"`)).toThrow(/line 2: not valid JSON/);
    expect(() => parseEventsBody(JSON.stringify([ev('a'), { kind: 'Pod', metadata: {} }]))).toThrow(
      /item 1: not a Kubernetes Event/,
    );
    expect(() => parseEventsBody(`${JSON.stringify(ev('a'))}\n${JSON.stringify({ hello: 1 })}`)).toThrow(BodyError);
  });

  it('accepts an empty body as no events', () => {
    expect(parseEventsBody('  \n')).toEqual([]);
  });
});
