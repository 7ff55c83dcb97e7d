import { describe, expect, it } from 'vitest';
import { backendMacros, conditionalAll, expand, type TimeContext, templateReplace } from './grafana-sql.ts';

// Test vectors for grafana-sql.ts: input → output pairs stated by the ClickHouse plugin's own tests
// (grafana/clickhouse-datasource 4.20.0, pkg/macros/macros_test.go and src/data/CHDatasource.test.ts) and by
// Grafana's variable format tests (formatRegistry). Only the facts are taken, not their code.

const T = (from: string, to: string, intervalSeconds = 0): TimeContext => ({
  from: new Date(from),
  to: new Date(to),
  intervalSeconds,
});
/** macros_test.go's range for the single macros: 2014-11-12T11:45:26.371Z to a year later. */
const year = T('2014-11-12T11:45:26.371Z', '2015-11-12T11:45:26.371Z');
/** TestInterpolate's range. */
const interp = T('2014-11-12T11:45:26.123Z', '2015-11-12T11:45:26.456Z');
const nothing = T('0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z', 20);

describe('backend macros: the plugin’s pkg/macros vectors', () => {
  it.each([
    ['$__fromTime', 'toDateTime(1415792726)'],
    ['$__toTime', 'toDateTime(1447328726)'],
    ['$__fromTime_ms', 'fromUnixTimestamp64Milli(1415792726371)'],
    ['$__toTime_ms', 'fromUnixTimestamp64Milli(1447328726371)'],
    ['$__dateFilter(dateCol)', "dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')"],
    [
      '$__dateTimeFilter(dateCol, timeCol)',
      "(dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')) AND " +
        '(timeCol >= toDateTime(1415792726) AND timeCol <= toDateTime(1447328726))',
    ],
    ['$__timeFrom(ts)', 'ts >= toDateTime(1415792726)'],
    ['$__timeTo(ts)', 'ts <= toDateTime(1447328726)'],
  ])('%s → %s', (input, output) => {
    expect(backendMacros(input, year)).toBe(output);
  });

  it.each([
    ['$__timeInterval(col)', 'toStartOfInterval(toDateTime(col), INTERVAL 20 second)'],
    ['$__timeInterval_ms(col)', 'toStartOfInterval(toDateTime64(col, 3), INTERVAL 20000 millisecond)'],
    ['$__interval_s', '20'],
    ['$__timeGroup(ts, 5m)', 'toStartOfInterval(toDateTime(ts), INTERVAL 300 second)'],
    ['$__timeGroup(ts, 1h)', 'toStartOfInterval(toDateTime(ts), INTERVAL 3600 second)'],
  ])('interval 20 s: %s → %s', (input, output) => {
    expect(backendMacros(input, nothing)).toBe(output);
  });

  it.each([
    '$__timeFilter()',
    '$__timeFilter_ms()',
    '$__dateFilter()',
    '$__dateTimeFilter(d)',
    '$__timeInterval()',
    '$__timeInterval_ms()',
    '$__timeFrom()',
    '$__timeTo()',
    '$__timeGroup(ts)',
    '$__timeGroup(ts, nope)',
    '$__timeGroup(ts, not-a-duration)',
  ])('refuses %s (wrong arity or a bad duration)', (input) => {
    expect(() => backendMacros(input, nothing)).toThrow();
  });

  it.each([
    [
      'select * from foo where $__timeFilter(cast(sth as timestamp))',
      'select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)',
    ],
    [
      'select * from foo where $__timeFilter(cast(sth as timestamp) )',
      'select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)',
    ],
    [
      'select * from foo where $__timeFilter_ms(cast(sth as timestamp))',
      'select * from foo where cast(sth as timestamp) >= fromUnixTimestamp64Milli(1415792726123) AND cast(sth as timestamp) <= fromUnixTimestamp64Milli(1447328726456)',
    ],
    [
      'select * from foo where $__timeFilter_ms(cast(sth as timestamp) )',
      'select * from foo where cast(sth as timestamp) >= fromUnixTimestamp64Milli(1415792726123) AND cast(sth as timestamp) <= fromUnixTimestamp64Milli(1447328726456)',
    ],
    [
      'select * from foo where ( date >= $__fromTime and date <= $__toTime ) limit 100',
      'select * from foo where ( date >= toDateTime(1415792726) and date <= toDateTime(1447328726) ) limit 100',
    ],
    [
      'select * from foo where ( date >= $__fromTime ) and ( date <= $__toTime ) limit 100',
      'select * from foo where ( date >= toDateTime(1415792726) ) and ( date <= toDateTime(1447328726) ) limit 100',
    ],
    [
      'select * from foo where ( date >= $__fromTime_ms and date <= $__toTime_ms ) limit 100',
      'select * from foo where ( date >= fromUnixTimestamp64Milli(1415792726123) and date <= fromUnixTimestamp64Milli(1447328726456) ) limit 100',
    ],
    [
      'select * from foo where ( date >= $__fromTime_ms ) and ( date <= $__toTime_ms ) limit 100',
      'select * from foo where ( date >= fromUnixTimestamp64Milli(1415792726123) ) and ( date <= fromUnixTimestamp64Milli(1447328726456) ) limit 100',
    ],
    // Backslash-escaped and doubled quotes inside a literal do not end it early.
    [
      "select * from foo where msg = 'it\\'s -- fine' and $__fromTime",
      "select * from foo where msg = 'it\\'s -- fine' and toDateTime(1415792726)",
    ],
    [
      "select * from foo where msg = 'a\\'/*x' and $__toTime",
      "select * from foo where msg = 'a\\'/*x' and toDateTime(1447328726)",
    ],
    [
      "select * from foo where msg = 'it''s' and $__fromTime",
      "select * from foo where msg = 'it''s' and toDateTime(1415792726)",
    ],
    // Backtick identifiers and dollar-quoted strings are kept verbatim.
    [
      "SELECT `it's` AS x, msg FROM t WHERE msg = 'a--b' AND $__timeFilter(ts)",
      "SELECT `it's` AS x, msg FROM t WHERE msg = 'a--b' AND ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726)",
    ],
    ['SELECT `a--b`, `c/*d` FROM t WHERE $__fromTime', 'SELECT `a--b`, `c/*d` FROM t WHERE toDateTime(1415792726)'],
    [
      'SELECT $doc$a--b$doc$ AS x FROM t WHERE $__toTime',
      'SELECT $doc$a--b$doc$ AS x FROM t WHERE toDateTime(1447328726)',
    ],
  ])('Interpolate: %s', (input, output) => {
    expect(backendMacros(input, interp)).toBe(output);
  });

  it.each([
    [
      'SELECT $__timeInterval($__fromTime) AS from_time',
      'SELECT toStartOfInterval(toDateTime(toDateTime(1415792726)), INTERVAL 60 second) AS from_time',
    ],
    [
      'SELECT $__timeInterval_ms($__fromTime_ms)',
      'SELECT toStartOfInterval(toDateTime64(fromUnixTimestamp64Milli(1415792726123), 3), INTERVAL 60000 millisecond)',
    ],
    [
      'select * from foo where $__timeFilter(coalesce(closed_at, $__toTime))',
      'select * from foo where coalesce(closed_at, toDateTime(1447328726)) >= toDateTime(1415792726) AND coalesce(closed_at, toDateTime(1447328726)) <= toDateTime(1447328726)',
    ],
  ])('nested macros expand innermost first: %s', (input, output) => {
    expect(backendMacros(input, { ...interp, intervalSeconds: 60 })).toBe(output);
  });

  it('gives $__interval_s and $__timeInterval at least 1 second', () => {
    expect(backendMacros('$__interval_s $__timeInterval(c)', { ...interp, intervalSeconds: 0.2 })).toBe(
      '1 toStartOfInterval(toDateTime(c), INTERVAL 1 second)',
    );
  });
});

describe('frontend: $__conditionalAll (CHDatasource.test.ts) and Grafana’s formats', () => {
  it('keeps the condition for a selection, writes 1=1 for All', () => {
    expect(conditionalAll('$__conditionalAll(foo, $fieldVal)', { fieldVal: "'val1', 'val2'" })).toBe('foo');
    expect(conditionalAll('$__conditionalAll(foo, $fieldVal)', { fieldVal: '$__all' })).toBe('1=1');
    // A multi-value variable's value is an array: All is ['$__all'], an empty selection [].
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
    expect(conditionalAll('$__conditionalAll(foo, ${v})', { v: ['$__all'] })).toBe('1=1');
    expect(conditionalAll('$__conditionalAll(foo, $v)', { v: [] })).toBe('1=1');
    expect(conditionalAll('$__conditionalAll(foo, $v)', { v: ['a', 'b'] })).toBe('foo');
    // Nested and repeated calls, from the last one to the first; a condition with commas and parentheses.
    expect(
      conditionalAll('$__conditionalAll(f(a, b) IN (1, 2), $x) AND $__conditionalAll(g, $y)', {
        x: ['1'],
        y: ['$__all'],
      }),
    ).toBe('f(a, b) IN (1, 2) AND 1=1');
  });

  it('formats :singlequote as Grafana does: quotes each value, backslash before a quote', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
    const q = '${v:singlequote}';
    expect(templateReplace(q, { v: 'test' })).toBe("'test'");
    expect(templateReplace(q, { v: ['test', "test'2"] })).toBe("'test','test\\'2'");
    // Grafana escapes quotes only: a backslash stays as it is.
    expect(templateReplace(q, { v: ['a\\'] })).toBe("'a\\'");
  });

  it('formats :raw as the value as it is, and no format with the plugin’s formatter', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
    expect(templateReplace('${v:raw}', { v: ['a', 'b'] })).toBe('a,b');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
    expect(templateReplace('${v:raw}', { v: "it's" })).toBe("it's");
    // The plugin's formatter: an array is quoted and joined, nothing escaped; a single value stays raw.
    expect(templateReplace('$v', { v: ['a', "b'c"] })).toBe("'a','b'c'");
    expect(templateReplace('[[v]]', { v: 'x' })).toBe('x');
    // All (`$__all`) becomes every option; names that are not variables stay for the backend.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
    expect(templateReplace('${v:singlequote} $__timeFilter(t)', { v: ['$__all'] }, { v: ['p', 'q'] })).toBe(
      "'p','q' $__timeFilter(t)",
    );
  });

  it('expands a whole query: conditionals, then variables, then macros; nothing left over', () => {
    const t: TimeContext = { from: new Date(1_700_000_000_000), to: new Date(1_700_003_600_000), intervalSeconds: 0.2 };
    expect(
      expand(
        'SELECT $__timeInterval(minute) AS t FROM x WHERE $__timeFilter(minute) AND a >= $__fromTime AND b <= ' +
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
          '$__toTime AND $__interval_s > 0 AND $__conditionalAll(c IN (${c:singlequote}), $c) AND ' +
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
          '$__conditionalAll(d IN (${d}), $d) AND e IN ($e)',
        { c: ["it's"], d: ['$__all'], e: ['x', 'y'] },
        { d: ['p', 'q'] },
        t,
      ),
    ).toBe(
      'SELECT toStartOfInterval(toDateTime(minute), INTERVAL 1 second) AS t FROM x WHERE minute >= ' +
        'toDateTime(1700000000) AND minute <= toDateTime(1700003600) AND a >= toDateTime(1700000000) AND b <= ' +
        "toDateTime(1700003600) AND 1 > 0 AND c IN ('it\\'s') AND 1=1 AND e IN ('x','y')",
    );
    expect(() => expand('SELECT $unknown', {}, {}, t)).toThrow(/unexpanded/);
    expect(() => expand('SELECT 1 -- $__fromTime', {}, {}, t)).toThrow(/comments/);
    // A `$` inside a string literal is data, not a leftover.
    expect(expand("SELECT '$x'", {}, {}, t)).toBe("SELECT '$x'");
  });
});
