// How Grafana and the official ClickHouse data source plugin (grafana-clickhouse-datasource 4.x) turn a
// panel's SQL into the query ClickHouse runs, for tests that run the dashboards' SQL on the real ClickHouse.
// Grafana cannot run here; grafana-sql.test.ts pins this model to input → output pairs stated by the
// plugin's own tests (pkg/macros/macros_test.go, src/data/CHDatasource.test.ts) and Grafana's format tests.
//
// The order is the plugin's:
// 1. frontend, CHDatasource.applyTemplateVariables: `$__conditionalAll(cond, $var)` from the last call to
//    the first (the condition, or `1=1` when the variable's value is `$__all` or empty); then Grafana's
//    template replacement, where a variable without a format gets the plugin's formatter (an array becomes
//    'a','b' with nothing escaped, a single value stays raw);
// 2. backend, pkg/macros (macropro): `$__name` and `$__name(args)` macros, innermost first, never inside
//    a quoted string, a backtick identifier or a dollar-quoted string.

export type Values = Record<string, string | string[]>;

export interface TimeContext {
  from: Date;
  to: Date;
  /** The panel's interval ($__interval_s, $__timeInterval), in seconds. */
  intervalSeconds: number;
}

/**
 * The arguments of the call whose '(' is at `open` (the plugin's getMacroArgs): split at top-level commas,
 * untrimmed; `end` is just past the closing ')'.
 */
export function macroArgs(sql: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let last = open + 1;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    if (c === ',' && depth === 1) {
      args.push(sql.slice(last, i));
      last = i + 1;
    }
    if (depth === 0) {
      args.push(sql.slice(last, i));
      return { args, end: i + 1 };
    }
  }
  throw new Error(`unbalanced macro arguments at ${open}: ${sql.slice(open, open + 60)}`);
}

/** CHDatasource.applyConditionalAll: each call becomes its condition, or `1=1` when the variable is All or empty. */
export function conditionalAll(sql: string, vars: Values): string {
  const macro = '$__conditionalAll(';
  for (let at = sql.lastIndexOf(macro); at !== -1; at = sql.lastIndexOf(macro)) {
    const { args, end } = macroArgs(sql, at + macro.length - 1);
    if (args.length !== 2) throw new Error(`$__conditionalAll needs 2 arguments: ${sql.slice(at, end)}`);
    const name = /(?<=\$\{)\w+(?=\})|(?<=\$)\w+/.exec(args[1]!.trim())?.[0];
    const value = name === undefined ? undefined : vars[name];
    // The plugin reads `current.value.toString()`: an array joins with commas.
    const v = Array.isArray(value) ? value.join(',') : value;
    sql = sql.slice(0, at) + (v === '' || v === '$__all' ? '1=1' : args[0]) + sql.slice(end);
  }
  return sql;
}

/** Grafana's formats that these dashboards may use, as Grafana's format registry defines them. */
const FORMATS: Record<string, (value: string | string[]) => string> = {
  // Backslash before every single quote; backslashes themselves are left alone.
  singlequote: (v) => (Array.isArray(v) ? v : [v]).map((x) => `'${x.replaceAll("'", "\\'")}'`).join(','),
  raw: (v) => String(v),
};

/** The plugin's own formatter, used for a variable written without a format. */
const pluginFormat = (v: string | string[]) => (Array.isArray(v) ? `'${v.join("','")}'` : v);

/**
 * Grafana's template replacement (its variable regex). `allValues` are a variable's options, which replace
 * the All value `$__all` (the dashboards set no custom all value). Names that are not variables, such as
 * the plugin's `$__timeFilter`, are left for the backend.
 */
export function templateReplace(sql: string, vars: Values, allValues: Record<string, string[]> = {}): string {
  const re = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;
  return sql.replace(
    re,
    (match, plain?: string, bracket?: string, bracketFmt?: string, braced?: string, _path?: string, fmt?: string) => {
      const name = plain ?? bracket ?? braced!;
      if (!(name in vars)) return match;
      let value = vars[name]!;
      if (Array.isArray(value) && value.length === 1 && value[0] === '$__all') value = allValues[name] ?? [];
      const format = fmt ?? bracketFmt;
      if (format === undefined) return pluginFormat(value);
      const f = FORMATS[format];
      if (!f) throw new Error(`variable format ${format} is not modelled here`);
      return f(value);
    },
  );
}

/** Where a quoted region (string, backtick identifier, dollar-quoted string) that starts at `i` ends, or -1. */
function quotedEnd(sql: string, i: number): number {
  const c = sql[i];
  if (c === "'") {
    // ClickHouse string: backslash escapes, and '' is a quote.
    for (let j = i + 1; j < sql.length; j++) {
      if (sql[j] === '\\') j++;
      else if (sql[j] === "'") {
        if (sql[j + 1] === "'") j++;
        else return j + 1;
      }
    }
    throw new Error(`unterminated string at ${i}: ${sql.slice(i, i + 40)}`);
  }
  if (c === '`') {
    const j = sql.indexOf('`', i + 1);
    if (j === -1) throw new Error(`unterminated identifier at ${i}`);
    return j + 1;
  }
  if (c === '$') {
    const tag = /^\$(\w*)\$/.exec(sql.slice(i));
    if (!tag || tag[1]!.startsWith('__')) return -1;
    const close = sql.indexOf(tag[0], i + tag[0].length);
    if (close === -1) throw new Error(`unterminated dollar-quoted string at ${i}`);
    return close + tag[0].length;
  }
  return -1;
}

const unix = (d: Date) => Math.floor(d.getTime() / 1000);
const dateTime = (d: Date) => `toDateTime(${unix(d)})`;
const dateTime64 = (d: Date) => `fromUnixTimestamp64Milli(${d.getTime()})`;
const date = (d: Date) => `toDate('${d.toISOString().slice(0, 10)}')`;

/** Go's time.ParseDuration for the forms $__timeGroup takes (5m, 1h, 30s, 1h30m, 500ms), in seconds. */
function goDurationSeconds(s: string): number {
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const parts = [...s.matchAll(/(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== s) throw new Error(`invalid duration ${s}`);
  return parts.reduce((n, p) => n + Number(p[1]) * units[p[2]!]!, 0);
}

/** The plugin's backend macros (pkg/macros/macros.go): the name → expansion of each. */
function backendMacro(name: string, args: string[] | null, t: TimeContext): string {
  const seconds = Math.max(Math.floor(t.intervalSeconds), 1);
  const arity = (n: number) => {
    if ((args?.length ?? 0) !== n)
      throw new Error(`$__${name} expected ${n} argument(s), received ${args?.length ?? 0}`);
    return args!;
  };
  switch (name) {
    case 'fromTime':
      return dateTime(t.from);
    case 'toTime':
      return dateTime(t.to);
    case 'fromTime_ms':
      return dateTime64(t.from);
    case 'toTime_ms':
      return dateTime64(t.to);
    case 'interval_s':
      return String(seconds);
    case 'timeFilter': {
      const [c] = arity(1);
      return `${c} >= ${dateTime(t.from)} AND ${c} <= ${dateTime(t.to)}`;
    }
    case 'timeFilter_ms': {
      const [c] = arity(1);
      return `${c} >= ${dateTime64(t.from)} AND ${c} <= ${dateTime64(t.to)}`;
    }
    case 'dateFilter': {
      const [c] = arity(1);
      return `${c} >= ${date(t.from)} AND ${c} <= ${date(t.to)}`;
    }
    case 'dt':
    case 'dateTimeFilter': {
      const [d, c] = arity(2);
      return `(${d} >= ${date(t.from)} AND ${d} <= ${date(t.to)}) AND (${c} >= ${dateTime(t.from)} AND ${c} <= ${dateTime(t.to)})`;
    }
    case 'timeFrom':
      return `${arity(1)[0]} >= ${dateTime(t.from)}`;
    case 'timeTo':
      return `${arity(1)[0]} <= ${dateTime(t.to)}`;
    case 'timeInterval':
      return `toStartOfInterval(toDateTime(${arity(1)[0]}), INTERVAL ${seconds} second)`;
    case 'timeInterval_ms':
      return `toStartOfInterval(toDateTime64(${arity(1)[0]}, 3), INTERVAL ${Math.max(Math.floor(t.intervalSeconds * 1000), 1)} millisecond)`;
    case 'timeGroup': {
      const [c, period] = arity(2);
      const secs = Math.round(goDurationSeconds(period!.trim().replace(/^['"]|['"]$/g, '')));
      if (secs <= 0) throw new Error(`$__timeGroup: interval must be positive, got ${period}`);
      return `toStartOfInterval(toDateTime(${c}), INTERVAL ${secs} second)`;
    }
    default:
      throw new Error(`macro $__${name} is not one the plugin's backend expands`);
  }
}

const TAKES_ARGS = new Set([
  'timeFilter',
  'timeFilter_ms',
  'dateFilter',
  'dt',
  'dateTimeFilter',
  'timeFrom',
  'timeTo',
  'timeInterval',
  'timeInterval_ms',
  'timeGroup',
]);

/** The backend pass: macros outside quoted regions, arguments expanded first (nested macros), trimmed. */
export function backendMacros(sql: string, t: TimeContext): string {
  if (/--|\/\*/.test(stripQuoted(sql)))
    throw new Error('SQL comments are not modelled here (the plugin strips them before expanding macros)');
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const q = quotedEnd(sql, i);
    if (q !== -1) {
      out += sql.slice(i, q);
      i = q;
      continue;
    }
    const m = /^\$__(\w+)/.exec(sql.slice(i, i + 64));
    if (!m) {
      out += sql[i];
      i++;
      continue;
    }
    const name = m[1]!;
    let next = i + m[0].length;
    let args: string[] | null = null;
    if (TAKES_ARGS.has(name)) {
      if (sql[next] !== '(') throw new Error(`$__${name} needs arguments`);
      const call = macroArgs(sql, next);
      // `$__f()` has no argument, not one empty one.
      const raw = call.args.length === 1 && call.args[0]!.trim() === '' ? [] : call.args;
      args = raw.map((a) => backendMacros(a, t).trim());
      next = call.end;
    }
    out += backendMacro(name, args, t);
    i = next;
  }
  return out;
}

/** The SQL without its quoted regions (for checks that must not look inside literals). */
function stripQuoted(sql: string): string {
  let out = '';
  for (let i = 0; i < sql.length; ) {
    const q = quotedEnd(sql, i);
    if (q !== -1) {
      out += ' ';
      i = q;
    } else out += sql[i++];
  }
  return out;
}

/** A panel's SQL as ClickHouse receives it; throws when a variable or macro is left unexpanded. */
export function expand(sql: string, vars: Values, allValues: Record<string, string[]>, t: TimeContext): string {
  const out = backendMacros(templateReplace(conditionalAll(sql, vars), vars, allValues), t);
  if (/\$|\[\[/.test(stripQuoted(out))) throw new Error(`unexpanded variable or macro left in:\n${out}`);
  return out;
}
