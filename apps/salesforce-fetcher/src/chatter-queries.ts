import { soqlString, toId18 } from '@broker/salesforce';
import type { ChatterCursor } from '@broker/store';

/** The Chatter post types whose Body is a user's text (TrackedChange and system posts are not messages). */
export const MESSAGE_POST_TYPES = ['TextPost', 'LinkPost', 'QuestionPost', 'ContentPost'] as const;

/**
 * A SOQL datetime literal (UTC, whole seconds: the documented literal has no fraction). A window's
 * start rounds down and its end up, so rounding only ever reads more.
 */
export const soqlDateTime = (d: Date, round: 'down' | 'up' = 'down') =>
  new Date(round === 'up' ? Math.ceil(d.getTime() / 1000) * 1000 : Math.floor(d.getTime() / 1000) * 1000)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');

export interface FeedQueryInput {
  phase: 'items' | 'comments';
  parentIds: readonly string[];
  /** Text fields to read (the objects' chatter.bodyField, or commentBodyField for replies). */
  bodyFields: readonly string[];
  from: Date;
  until: Date;
  /** Resume after this row (keyset: the rows are ordered by CreatedDate, then Id). */
  after?: { createdDate: Date; id: string };
  /** The broker's own posts are never read back (no echo). */
  integrationUserId?: string;
}

/**
 * One query of the sweep: the posts (FeedItem) or replies (FeedComment) on these records created in
 * [from, until], oldest first, ties by id. Body and CommentBody are long text areas, which SOQL
 * cannot filter on, so nothing filters on the text.
 */
export function feedQuery(q: FeedQueryInput): string {
  if (q.parentIds.length === 0) throw new Error('feedQuery needs at least one record id');
  const fields = q.phase === 'items' ? ['Id', 'ParentId', 'Type', 'IsRichText'] : ['Id', 'FeedItemId', 'ParentId', 'IsRichText'];
  for (const f of q.bodyFields) if (!fields.includes(f)) fields.push(f);
  fields.push('CreatedById', 'CreatedBy.Name', 'CreatedDate');
  const where = [`ParentId IN (${q.parentIds.map((id) => soqlString(toId18(id))).join(', ')})`];
  if (q.phase === 'items') where.push(`Type IN (${MESSAGE_POST_TYPES.map((t) => `'${t}'`).join(', ')})`);
  if (q.integrationUserId) where.push(`CreatedById != ${soqlString(toId18(q.integrationUserId))}`);
  if (q.after) {
    const at = soqlDateTime(q.after.createdDate);
    where.push(`(CreatedDate > ${at} OR (CreatedDate = ${at} AND Id > ${soqlString(toId18(q.after.id))}))`);
  } else where.push(`CreatedDate >= ${soqlDateTime(q.from)}`);
  where.push(`CreatedDate <= ${soqlDateTime(q.until, 'up')}`);
  return `SELECT ${fields.join(', ')} FROM ${q.phase === 'items' ? 'FeedItem' : 'FeedComment'} WHERE ${where.join(' AND ')} ORDER BY CreatedDate ASC, Id ASC`;
}

export interface SweepSettings {
  overlapSeconds: number;
  firstLookbackMinutes: number;
}

/**
 * The window this sweep reads: the one a previous sweep left unfinished, or a new one from the
 * watermark (less the overlap, so a post saved late or under a skewed clock is read again rather
 * than missed) to now.
 */
export function planWindow(connectionId: string, cursor: ChatterCursor | null, now: Date, settings: SweepSettings): ChatterCursor {
  if (cursor?.windowFrom && cursor.windowUntil) return cursor;
  const watermark = cursor?.watermark ?? new Date(now.getTime() - settings.firstLookbackMinutes * 60_000);
  return {
    connectionId,
    watermark,
    windowFrom: new Date(Math.min(watermark.getTime(), now.getTime()) - settings.overlapSeconds * 1000),
    windowUntil: now,
    windowStartedAt: now,
    afterParentId: null,
    chunkPhase: null,
    chunkFrom: null,
    chunkAfterId: null,
  };
}

/** The window is read: the next one starts at its end. */
export function closeWindow(cursor: ChatterCursor): ChatterCursor {
  return {
    ...cursor,
    watermark: cursor.windowUntil ?? cursor.watermark,
    windowFrom: null,
    windowUntil: null,
    windowStartedAt: null,
    afterParentId: null,
    chunkPhase: null,
    chunkFrom: null,
    chunkAfterId: null,
  };
}
