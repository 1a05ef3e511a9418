import { describe, expect, it } from 'vitest';
import { buildRecordQuery } from './soql-builder';
import { checkSoqlCondition, SoqlConditionError } from './soql-condition';
import { makeId } from './sf-id';

const errorOf = (condition: string): SoqlConditionError => {
  try {
    checkSoqlCondition(condition);
  } catch (err) {
    if (err instanceof SoqlConditionError) return err;
    throw err;
  }
  throw new Error(`accepted: ${condition}`);
};

describe('SOQL condition check', () => {
  // Conditions written as in Salesforce's SOQL reference (comparison operators, date formats and
  // literals, date functions, semi-joins, multi-select picklists, escape sequences).
  it.each([
    'Send_to_Field_Nation__c = true',
    "Status IN ('New', 'Working') AND Priority != 'Low'",
    "(Type = 'Repair' OR Type = 'Installation') AND NOT Subject LIKE '%test%'",
    'CreatedDate >= LAST_N_DAYS:30',
    'CreatedDate > 2024-01-01T00:00:00Z AND ClosedDate = 2024-05-01',
    'LastModifiedDate < 2024-01-01T08:00:00.000+05:30',
    'Account.Owner.Manager.Email != null',
    'CALENDAR_YEAR(CreatedDate) = 2026',
    'HOUR_IN_DAY(convertTimezone(CreatedDate)) > 8',
    "AccountId IN (SELECT Id FROM Account WHERE Type = 'Customer')",
    'ContactId NOT IN (SELECT ContactId FROM Opportunity)',
    "Subject = 'O\\'Brien\\\\'",
    'Amount__c > -5.5 AND Amount__c <= 100',
    "Skills__c INCLUDES ('a;b', 'c')",
    'Priority <> null',
    'ns__Send__c = TRUE',
    'Budget__c > USD5000',
    'CreatedDate = TODAY OR CreatedDate = THIS_FISCAL_QUARTER',
    'NOT (IsClosed = true OR IsDeleted = true)',
  ])('accepts %s', (condition) => {
    expect(checkSoqlCondition(condition)).toBe(condition);
  });

  it.each([
    ['Send_to_Field_Nation__c = true; DELETE FROM Case', /";" is not SOQL/],
    ['A__c = 1) OR (Id != null', /unbalanced "\)"/],
    ['(A__c = 1', /unbalanced "\(": it is never closed/],
    ["Subject = 'x", /not closed/],
    ['A__c = true LIMIT 1', /LIMIT is not allowed/],
    ['A__c = true ORDER BY CreatedDate', /ORDER is not allowed/],
    ['A__c = true) UNION (SELECT Id FROM User', /unbalanced "\)"/],
    ['A__c = true SELECT Id FROM User', /SELECT is not allowed/],
    ['A__c = true FOR UPDATE', /FOR is not allowed/],
    ['A__c = 1 AND B__c = 2 OR C__c = 3', /mixed without parentheses/],
    ['A__c = true -- comment', /no comments/],
    ['A__c = true /* x */', /no comments/],
    ['Subject = "x"', /single quotes/],
    ['   ', /empty/],
    ['A__c', /comparison operator/],
    ['A__c = ', /a value/],
    ['A__c = B__c', /a value/],
    ['CreatedDate > LAST_N_DAYS', /":n" after LAST_N_DAYS/],
    ["Subject = 'a\\x'", /invalid escape/],
    ['A.B.C.D.E.F.Name = null', /5/],
    ['Id IN (SELECT Id FROM Case LIMIT 1)', /LIMIT is not allowed/],
  ])('refuses %s', (condition, message) => {
    expect(errorOf(condition).message).toMatch(message);
  });

  it('points at the offending character', () => {
    expect(errorOf('Send_to_Field_Nation__c = true; DELETE').position).toBe(30);
  });

  it('refuses a condition longer than Salesforce allows', () => {
    const long = Array.from({ length: 300 }, (_, i) => `F${i}__c = true`).join(' AND ');
    expect(errorOf(long).message).toMatch(/4000/);
  });

  it('goes into the record query in its own parentheses, after the id', () => {
    const id = makeId('500', 7);
    expect(buildRecordQuery('Case', ['Subject'], id, ['A__c = true OR B__c = true'])).toBe(
      `SELECT Id, SystemModstamp, Subject FROM Case WHERE Id = '${id}' AND (A__c = true OR B__c = true)`,
    );
  });
});
