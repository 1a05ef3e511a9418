import { describe, expect, it } from 'vitest';
import { SfError } from '../core/sf-error';
import { parseSoql } from './soql-parser';
import { dateLiteralRange } from './date-literals';

describe('parseSoql', () => {
  it('parses select paths, aliases, conditions, order, limit and offset', () => {
    const q = parseSoql(
      "SELECT Id, c.Account.Owner.Name FROM Case c WHERE (Status = 'New' OR Status != 'Closed') AND NOT Priority IN ('Low') AND CreatedDate > LAST_N_DAYS:7 ORDER BY CreatedDate DESC NULLS FIRST, Id LIMIT 10 OFFSET 5",
    );
    expect(q.from).toMatchObject({ name: 'Case', alias: 'c' });
    expect(q.select.map((s) => (s.kind === 'field' ? s.path.join('.') : 'count'))).toEqual(['Id', 'c.Account.Owner.Name']);
    expect(q.where?.kind).toBe('and');
    expect(q.orderBy.map((o) => [o.field.path.join('.'), o.descending, o.nullsFirst])).toEqual([
      ['CreatedDate', true, true],
      ['Id', false, true],
    ]);
    expect([q.limit, q.offset]).toEqual([10, 5]);
  });

  it('unescapes string literals and reads datetime and date literals', () => {
    const q = parseSoql(
      "SELECT Id FROM Case WHERE Subject = 'O\\'Brien\\\\' AND CreatedDate >= 2026-01-02T03:04:05+01:00 AND ClosedDate < 2026-02-01",
    );
    const items = (q.where as { items: { value: unknown }[] }).items;
    expect(items.map((i) => i.value)).toEqual([
      { kind: 'string', value: "O'Brien\\" },
      { kind: 'datetime', value: '2026-01-02T03:04:05+01:00' },
      { kind: 'date', value: '2026-02-01' },
    ]);
  });

  it('raises MALFORMED_QUERY with the position', () => {
    for (const soql of [
      'SELECT',
      'SELECT Id FROM Case WHERE Name =',
      "SELECT Id FROM Case WHERE Name = 'x' AND Id = 'y' OR Id = 'z'",
      'SELECT Id FROM Case GROUP BY Id',
      'SELECT Id FROM Case LIMIT -1',
      'SELECT Id FROM Case #',
    ]) {
      let err: unknown;
      try {
        parseSoql(soql);
      } catch (e) {
        err = e;
      }
      expect(err, soql).toBeInstanceOf(SfError);
      expect((err as SfError).errorCode).toBe('MALFORMED_QUERY');
      expect((err as SfError).message).toMatch(/ERROR at Row:1:Column:\d+/);
    }
  });
});

describe('dateLiteralRange', () => {
  const now = Date.UTC(2026, 2, 18, 15, 0, 0); // Wednesday
  const day = 86_400_000;
  it('covers whole UTC days', () => {
    expect(dateLiteralRange('TODAY', undefined, now)).toEqual([Date.UTC(2026, 2, 18), Date.UTC(2026, 2, 19)]);
    expect(dateLiteralRange('LAST_N_DAYS', 3, now)).toEqual([Date.UTC(2026, 2, 15), Date.UTC(2026, 2, 19)]);
    expect(dateLiteralRange('NEXT_N_DAYS', 2, now)).toEqual([Date.UTC(2026, 2, 19), Date.UTC(2026, 2, 21)]);
    expect(dateLiteralRange('THIS_WEEK', undefined, now)).toEqual([Date.UTC(2026, 2, 15), Date.UTC(2026, 2, 15) + 7 * day]);
    expect(dateLiteralRange('LAST_MONTH', undefined, now)).toEqual([Date.UTC(2026, 1, 1), Date.UTC(2026, 2, 1)]);
  });
});
