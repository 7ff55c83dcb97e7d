import { describe, expect, it } from 'vitest';
import { ClickHouseError } from '@clickhouse/client';
import { ClickHouseQueryError, ClickHouseUnavailableError } from '@pullwatch/clickhouse';
import { insertVerdict, monthOf, rejectionReason, ROW_REJECTED_CODES } from './insert-verdict.ts';

const server = (code: string, type: string, message = `${type} happened`) =>
  new ClickHouseError({ message, code, type });

describe('insertVerdict', () => {
  it('splits a block refused for too many partitions, and waits when one partition cannot have caused it', () => {
    const tooMany = server('252', 'TOO_MANY_PARTS', 'Too many partitions for single INSERT block (more than 100)');
    expect(insertVerdict(tooMany, 110)).toBe('split');
    expect(insertVerdict(tooMany, 2)).toBe('split');
    // The same code from a merge backlog: a block of one partition is retried, never dead-lettered.
    expect(insertVerdict(server('252', 'TOO_MANY_PARTS', 'Too many parts (3000). Merges are processing…'), 1)).toBe(
      'retry',
    );
  });

  it('dead-letters (after isolating) what the rows cause, by code', () => {
    for (const [code, type] of ROW_REJECTED_CODES) expect(insertVerdict(server(code, type), 1), type).toBe('reject');
    expect([...ROW_REJECTED_CODES.keys()]).toEqual([
      '6',
      '27',
      '33',
      '38',
      '41',
      '53',
      '69',
      '70',
      '72',
      '117',
      '131',
      '321',
      '469',
    ]);
    // Already typed by @pullwatch/clickhouse: the same decision.
    expect(insertVerdict(new ClickHouseQueryError('x', { code: '469', type: 'VIOLATED_CONSTRAINT' }), 3)).toBe(
      'reject',
    );
  });

  it('retries everything else: outages, overload, timeouts, and a schema not migrated yet', () => {
    const retried = [
      server('241', 'MEMORY_LIMIT_EXCEEDED'),
      server('159', 'TIMEOUT_EXCEEDED'),
      server('202', 'TOO_MANY_SIMULTANEOUS_QUERIES'),
      server('60', 'UNKNOWN_TABLE'),
      server('16', 'NO_SUCH_COLUMN_IN_TABLE'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }),
      new ClickHouseUnavailableError('down'),
      new Error('socket hang up'),
    ];
    for (const err of retried) expect(insertVerdict(err, 5), String(err)).toBe('retry');
  });

  it('never decides by the message: a row-refusal text with a retryable code is retried', () => {
    expect(insertVerdict(server('241', 'MEMORY_LIMIT_EXCEEDED', 'Cannot parse input: VIOLATED_CONSTRAINT'), 4)).toBe(
      'retry',
    );
  });
});

describe('rejectionReason', () => {
  it("names ClickHouse's code, type and message", () => {
    expect(rejectionReason(server('469', 'VIOLATED_CONSTRAINT', 'Constraint `no_poison` is violated'))).toEqual({
      code: '469',
      text: 'ClickHouse refused the row (code 469 VIOLATED_CONSTRAINT): Constraint `no_poison` is violated',
    });
  });

  it('bounds the message', () => {
    expect(rejectionReason(server('27', 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'x'.repeat(10_000))).text).toHaveLength(
      'ClickHouse refused the row (code 27 CANNOT_PARSE_INPUT_ASSERTION_FAILED): '.length + 2000,
    );
  });
});

describe('monthOf', () => {
  it("is ClickHouse's toYYYYMM in UTC", () => {
    expect(monthOf(Date.UTC(2026, 0, 31, 23, 59, 59, 999))).toBe(202601);
    expect(monthOf(Date.UTC(2026, 1, 1))).toBe(202602);
    expect(monthOf(Date.UTC(1999, 11, 15))).toBe(199912);
  });
});
