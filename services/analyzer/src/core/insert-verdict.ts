import { ClickHouseQueryError, toClickHouseError } from '@pullwatch/clickhouse';

/**
 * What a failed insert means for the rows that made it, decided by ClickHouse's error code (a typed
 * error, never the message's text):
 * - `retry`: not now (ClickHouse unreachable, overloaded, a timeout, a schema not migrated yet, any code
 *   not known to be about the rows): the same block again, after a back-off;
 * - `split`: the block as a whole was refused (too many partitions for one insert): its halves may pass;
 * - `reject`: rows in it were refused and will be again: split until they are isolated, dead-letter them.
 */
export type InsertVerdict = 'retry' | 'split' | 'reject';

/** Codes of errors the rows cause: the same rows are refused every time. */
export const ROW_REJECTED_CODES: ReadonlyMap<string, string> = new Map([
  ['6', 'CANNOT_PARSE_TEXT'],
  ['27', 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'],
  ['33', 'CANNOT_READ_ALL_DATA'],
  ['38', 'CANNOT_PARSE_DATE'],
  ['41', 'CANNOT_PARSE_DATETIME'],
  ['53', 'TYPE_MISMATCH'],
  ['69', 'ARGUMENT_OUT_OF_BOUND'],
  ['70', 'CANNOT_CONVERT_TYPE'],
  ['72', 'CANNOT_PARSE_NUMBER'],
  ['117', 'INCORRECT_DATA'],
  ['131', 'TOO_LARGE_STRING_SIZE'],
  ['321', 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE'],
  ['469', 'VIOLATED_CONSTRAINT'],
]);

/**
 * TOO_MANY_PARTS: what `max_partitions_per_insert_block` raises (rows of too many partitions in one
 * insert), and also what a table with a merge backlog raises (too many parts in one partition). Only
 * the first is the block's fault, and only a block spanning more than one partition can have it: a
 * block of one partition is told to wait, so a merge backlog never dead-letters rows.
 */
export const TOO_MANY_PARTS = '252';

/** `partitions`: how many monthly partitions the failed block's rows fall in. */
export function insertVerdict(err: unknown, partitions: number): InsertVerdict {
  const e = toClickHouseError(err);
  if (!(e instanceof ClickHouseQueryError)) return 'retry';
  if (e.code === TOO_MANY_PARTS) return partitions > 1 ? 'split' : 'retry';
  return ROW_REJECTED_CODES.has(e.code) ? 'reject' : 'retry';
}

/** The dead letter's reason text: ClickHouse's code, name and message (bounded). */
export function rejectionReason(err: unknown): { code: string; text: string } {
  const e = toClickHouseError(err);
  const code = e instanceof ClickHouseQueryError ? e.code : '';
  const type = e instanceof ClickHouseQueryError ? e.type : '';
  return {
    code,
    text: `ClickHouse refused the row (code ${code || '?'}${type ? ` ${type}` : ''}): ${e.message.slice(0, 2000)}`,
  };
}

/** The monthly partition (`toYYYYMM(event_time)`) of an epoch-milliseconds time. */
export function monthOf(ms: number): number {
  const d = new Date(ms);
  return d.getUTCFullYear() * 100 + d.getUTCMonth() + 1;
}
