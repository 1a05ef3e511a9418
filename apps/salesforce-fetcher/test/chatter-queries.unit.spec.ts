import { describe, expect, it } from 'vitest';
import { closeWindow, feedQuery, planWindow, soqlDateTime } from '../src/chatter-queries';

const at = (iso: string) => new Date(iso);

describe('Chatter sweep queries', () => {
  it('reads posts of the given records by anyone but the integration user, oldest first, ties by id', () => {
    const soql = feedQuery({
      phase: 'items',
      parentIds: ['a1S000000000001', 'a1S000000000002EAA'],
      bodyFields: ['Body', 'Body'],
      from: at('2026-12-04T10:00:00.900Z'),
      until: at('2026-12-04T10:05:00.100Z'),
      integrationUserId: '005000000000001',
    });
    expect(soql).toBe(
      "SELECT Id, ParentId, Type, IsRichText, Body, CreatedById, CreatedBy.Name, CreatedDate FROM FeedItem WHERE ParentId IN ('a1S000000000001EAA', 'a1S000000000002EAA') AND Type IN ('TextPost', 'LinkPost', 'QuestionPost', 'ContentPost') AND CreatedById != '005000000000001AAA' AND CreatedDate >= 2026-12-04T10:00:00Z AND CreatedDate <= 2026-12-04T10:05:01Z ORDER BY CreatedDate ASC, Id ASC",
    );
  });

  it('reads replies with their post and resumes after the last row read (keyset, never a row twice)', () => {
    const soql = feedQuery({
      phase: 'comments',
      parentIds: ['a1S000000000001EAA'],
      bodyFields: ['CommentBody', 'Reply_Text__c'],
      from: at('2026-12-04T10:00:00Z'),
      until: at('2026-12-04T10:05:00Z'),
      after: { createdDate: at('2026-12-04T10:02:00Z'), id: '0D7000000000009' },
    });
    expect(soql).toContain('SELECT Id, FeedItemId, ParentId, IsRichText, CommentBody, Reply_Text__c, CreatedById');
    expect(soql).toContain("(CreatedDate > 2026-12-04T10:02:00Z OR (CreatedDate = 2026-12-04T10:02:00Z AND Id > '0D7000000000009");
    expect(soql).not.toContain('CreatedDate >= ');
    expect(soql).not.toContain('Type IN');
  });

  it('refuses an empty id list and ids that are not ids (no injection through a correlation row)', () => {
    const base = { phase: 'items' as const, bodyFields: ['Body'], from: new Date(), until: new Date() };
    expect(() => feedQuery({ ...base, parentIds: [] })).toThrow(/at least one/);
    expect(() => feedQuery({ ...base, parentIds: ["a1S' OR Id != '"] })).toThrow();
  });

  it('rounds a window outwards to whole seconds', () => {
    expect(soqlDateTime(at('2026-12-04T10:00:00.999Z'))).toBe('2026-12-04T10:00:00Z');
    expect(soqlDateTime(at('2026-12-04T10:00:00.001Z'), 'up')).toBe('2026-12-04T10:00:01Z');
    expect(soqlDateTime(at('2026-12-04T10:00:00.000Z'), 'up')).toBe('2026-12-04T10:00:00Z');
  });

  it('plans a window from the watermark less the overlap, keeps an unfinished one, and closes at its end', () => {
    const now = at('2026-12-04T12:00:00Z');
    const first = planWindow('demo', null, now, { overlapSeconds: 300, firstLookbackMinutes: 60 });
    expect(first.windowFrom).toEqual(at('2026-12-04T10:55:00Z'));
    expect(first.windowUntil).toEqual(now);
    const unfinished = { ...first, afterParentId: 'a1S000000000001EAA', chunkPhase: 'comments' as const };
    expect(planWindow('demo', unfinished, at('2026-12-04T12:01:00Z'), { overlapSeconds: 300, firstLookbackMinutes: 60 })).toBe(unfinished);
    const closed = closeWindow(unfinished);
    expect(closed).toMatchObject({ watermark: now, windowFrom: null, windowUntil: null, afterParentId: null, chunkPhase: null });
    const next = planWindow('demo', closed, at('2026-12-04T12:01:00Z'), { overlapSeconds: 300, firstLookbackMinutes: 60 });
    expect(next.windowFrom).toEqual(at('2026-12-04T11:55:00Z'));
    // A watermark ahead of this clock (another replica's) never makes the window start in the future.
    const ahead = planWindow('demo', { ...closed, watermark: at('2026-12-04T13:00:00Z') }, now, {
      overlapSeconds: 0,
      firstLookbackMinutes: 0,
    });
    expect(ahead.windowFrom).toEqual(now);
  });
});
