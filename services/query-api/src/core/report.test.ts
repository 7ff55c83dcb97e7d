import { describe, expect, it } from 'vitest';
import { baseColumns, csvField, decodeCursor, type Group, keyOf, median, page, toCsv } from './report.ts';

const g = (name: string, failures: number): Group => ({
  key: { namespace: name },
  failures,
  successes: 0,
  failureRate: 1,
  pods: 1,
  stuckPodHours: 0,
  incidents: null,
  medianRecoverySeconds: null,
});

describe('report core', () => {
  it('reads team off cluster and namespace, workload off the Pod', () => {
    expect(baseColumns(['team'], false)).toEqual(['cluster', 'namespace']);
    expect(baseColumns(['workload', 'registry'], false)).toEqual(['cluster', 'namespace', 'pod', 'registry']);
    expect(baseColumns(['registry'], true)).toEqual(['cluster', 'namespace', 'registry']);
    const teamOf = (c: string, ns: string) => (c === 'a' && ns === 'shop' ? 'web' : null);
    expect(keyOf({ cluster: 'a', namespace: 'shop' }, ['team'], teamOf)).toEqual({ team: 'web' });
    expect(keyOf({ cluster: 'b', namespace: 'shop' }, ['team'], teamOf)).toEqual({ team: null });
    expect(keyOf({ cluster: 'b', namespace: 'shop' }, ['team'], teamOf, 'web')).toBeUndefined();
    expect(keyOf({ cluster: 'a', namespace: 'x', pod: 'solo' }, ['workload'], teamOf)).toEqual({
      cluster: 'a',
      namespace: 'x',
      workload: null,
      workloadKind: null,
      inferred: true,
    });
  });

  it('pages by keyset: failures desc, key asc, each group once', () => {
    const groups = [g('b', 5), g('a', 5), g('c', 9), g('d', 1)];
    const p1 = page(groups, 2);
    expect(p1.groups.map((x) => x.key.namespace)).toEqual(['c', 'a']);
    const p2 = page(groups, 2, p1.nextCursor!);
    expect(p2.groups.map((x) => x.key.namespace)).toEqual(['b', 'd']);
    expect(p2.nextCursor).toBeNull();
    // A group inserted before the cursor does not shift the next page (keyset, not offset).
    const p2b = page([...groups, g('0', 50)], 2, p1.nextCursor!);
    expect(p2b.groups.map((x) => x.key.namespace)).toEqual(['b', 'd']);
    expect(() => decodeCursor('x')).toThrow('not a cursor this API returned');
    expect(() => decodeCursor(Buffer.from('[1.5,"k"]').toString('base64url'))).toThrow();
  });

  it('quotes CSV fields per RFC 4180', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(false)).toBe('false');
    expect(toCsv(['namespace'], [g('x,y', 3)])).toBe(
      'namespace,failures,successes,failureRate,pods,stuckPodHours,incidents,medianRecoverySeconds\r\n' +
        '"x,y",3,0,1,1,0,,\r\n',
    );
  });

  it('prefixes text cells a spreadsheet would run as a formula with a quote (OWASP), never numbers', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', 'a=b', ' =1', ''].map(csvField)).toEqual([
      "'=1+1",
      "'+1",
      "'-1",
      "'@SUM(A1)",
      "'\tx",
      '"\'\rx"',
      'a=b',
      ' =1',
      '',
    ]);
    expect(csvField('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
    expect(csvField(-1)).toBe('-1');
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([600, 1200])).toBe(900);
  });
});
