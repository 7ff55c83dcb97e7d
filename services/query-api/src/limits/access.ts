import { type ClickHouseClient, ClickHouseQueryError, queryRows } from '@pullwatch/clickhouse';
import { chCode } from './errors.ts';

type Settings = NonNullable<Parameters<typeof queryRows>[1]['clickhouse_settings']>;

/** ClickHouse's codes for a setting the user's profile does not let a query change (src/Common/ErrorCodes.cpp). */
const READONLY = 164;
const SETTING_CONSTRAINT_VIOLATION = 452;

/**
 * The ClickHouse user's profile refuses the settings the API sends with every query (its limits), so
 * no query can run: a setup problem, not a bad query (503 with this message, and /readyz says it too).
 */
export class ClickHouseAccessError extends ClickHouseQueryError {}

function refusal(err: unknown): number | null {
  const code = chCode(err);
  return code === READONLY || code === SETTING_CONSTRAINT_VIOLATION ? code : null;
}

function accessError(err: unknown, code: number): ClickHouseAccessError {
  const said = (err instanceof Error ? err.message : String(err)).trim();
  const fix =
    code === READONLY
      ? "give the user a profile with readonly=2 (infra/clickhouse/users.d/pullwatch.xml), or readonly=1 with a changeable_in_readonly constraint on each setting the API sends; see docs/deploy.md, 'Kafka and ClickHouse'"
      : "lower the query API's limit (PULLWATCH_API_<CLASS>_MAX_*) or raise the profile's constraint; see docs/deploy.md, 'Kafka and ClickHouse'";
  return new ClickHouseAccessError(
    `the ClickHouse user's profile refuses the limits the query API sets on its queries (${said}): ${fix}`,
    { code: String(code), type: code === READONLY ? 'READONLY' : 'SETTING_CONSTRAINT_VIOLATION' },
    { cause: err },
  );
}

/**
 * The `readonly` every API query sends, and whether the user's profile lets the API set its limits.
 *
 * ClickHouse checks a request's settings against the user's profile, and under a read-only profile it
 * refuses any change of `readonly` itself (Code 164). So the API sends readonly=1 when the profile
 * has none (the writer user in development: the API still never writes), and the profile's own value
 * otherwise (2 for the shipped profile, 1 for a readonly=1 profile with changeable_in_readonly). It
 * learns that value once, and tries the settings of every query class; a refusal becomes a
 * ClickHouseAccessError, kept for `recheckMs` so that a fixed profile (ClickHouse reloads users.d on
 * its own) is picked up without a restart.
 */
export class ReadOnlyMode {
  private known: { value: Promise<string>; at: number } | null = null;

  constructor(
    private readonly ch: ClickHouseClient,
    /** The settings of each query class (classSettings), each tried once against the profile. */
    private readonly probes: readonly Settings[],
    private readonly recheckMs = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The `readonly` to send; throws ClickHouseAccessError, or ClickHouseUnavailableError (not kept: retried). */
  setting(): Promise<string> {
    const now = this.clock();
    if (this.known && (this.known.at < 0 || now - this.known.at < this.recheckMs)) return this.known.value;
    const value = this.learn();
    const entry = { value, at: -1 };
    this.known = entry;
    value.catch((err: unknown) => {
      if (this.known !== entry) return;
      if (err instanceof ClickHouseAccessError) entry.at = this.clock();
      else this.known = null;
    });
    return value;
  }

  /** A query failed: when the profile refused its settings (changed since learnt), learn again. */
  failed(err: unknown): void {
    if (refusal(err) !== null && this.known?.at === -1) this.known = null;
  }

  private async learn(): Promise<string> {
    const [row] = await queryRows<{ readonly: number | string }>(this.ch, {
      query: "SELECT getSetting('readonly') AS readonly",
      timeoutMs: 10_000,
    });
    const own = Number(row?.readonly ?? 0);
    const readonly = own <= 1 ? '1' : String(own);
    for (const settings of this.probes) {
      try {
        await queryRows(this.ch, {
          query: 'SELECT 1',
          clickhouse_settings: { ...settings, readonly },
          timeoutMs: 10_000,
        });
      } catch (err) {
        const code = refusal(err);
        throw code === null ? err : accessError(err, code);
      }
    }
    return readonly;
  }
}

/**
 * A client whose every query sends the `readonly` of `mode` (the query's own value is overridden: the
 * profile decides which one ClickHouse accepts), and fails with ClickHouseAccessError while the
 * profile refuses the API's settings.
 */
export function readOnlyClickHouse(ch: ClickHouseClient, mode: ReadOnlyMode): ClickHouseClient {
  const wrapped = Object.create(ch) as ClickHouseClient;
  const query = ch.query.bind(ch) as (p: Parameters<ClickHouseClient['query']>[0]) => Promise<unknown>;
  (wrapped as { query: unknown }).query = async (p: Parameters<ClickHouseClient['query']>[0]) => {
    const readonly = await mode.setting();
    try {
      return await query({ ...p, clickhouse_settings: { ...p.clickhouse_settings, readonly } });
    } catch (err) {
      mode.failed(err);
      const code = refusal(err);
      throw code === null ? err : accessError(err, code);
    }
  };
  return wrapped;
}
