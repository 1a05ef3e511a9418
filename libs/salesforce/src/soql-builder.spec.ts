import { describe, expect, it } from 'vitest';
import { buildRecordQuery, readPath, soqlString } from './soql-builder';
import { makeId } from './sf-id';

describe('SOQL builder', () => {
  const id = makeId('500', 9);
  it('selects exactly the mapped paths plus Id and SystemModstamp, once each', () => {
    expect(buildRecordQuery('Case', ['Subject', 'Account.Owner.Manager.Email', 'id', 'subject'], id)).toBe(
      `SELECT Id, SystemModstamp, Subject, Account.Owner.Manager.Email FROM Case WHERE Id = '${id}'`,
    );
  });
  it('allows five relationship levels and refuses six', () => {
    expect(() => buildRecordQuery('Case', ['A.B.C.D.E.Name'], id)).not.toThrow();
    expect(() => buildRecordQuery('Case', ['A.B.C.D.E.F.Name'], id)).toThrow(/5/);
  });
  it('refuses injection through names and ids', () => {
    expect(() => buildRecordQuery('Case', ["Subject FROM User WHERE Name='x'"], id)).toThrow(/invalid field path/);
    expect(() => buildRecordQuery('Case; DELETE', ['Id'], id)).toThrow(/invalid object/);
    expect(() => buildRecordQuery('Case', ['Id'], "500' OR Id != '")).toThrow(/not a Salesforce id/);
  });
  it('escapes string literals and reads nested paths', () => {
    expect(soqlString("O'Brien\\")).toBe("'O\\'Brien\\\\'");
    expect(readPath({ Account: { Owner: null } }, 'Account.Owner.Email')).toBeNull();
    expect(readPath({ Account: { Owner: { Email: 'a@b' } } }, 'Account.Owner.Email')).toBe('a@b');
  });
});
