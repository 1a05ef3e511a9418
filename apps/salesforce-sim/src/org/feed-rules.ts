import { SfError } from '../core/sf-error';
import type { ObjectModel, RecordData } from './org-model';

/**
 * What Salesforce does on insert of a Chatter post or comment, beyond field validation (object
 * reference: FeedItem, FeedComment): a TextPost needs a Body; a comment's ParentId is its post's
 * parent (read-only, set by the platform); InsertedById is the user saving. A post on an object whose
 * feed is not tracked is refused by the ParentId reference check (the objects FeedItem.ParentId may
 * point at are the feed-tracked ones).
 */
export function applyFeedRules(
  o: ObjectModel,
  record: RecordData,
  userId: string,
  get: (id: string) => { object: ObjectModel; record: RecordData } | undefined,
): void {
  const name = o.name.toLowerCase();
  if (name !== 'feeditem' && name !== 'feedcomment') return;
  // Salesforce's datetimes come back in whole seconds (.000): posts of one second tie on CreatedDate.
  for (const f of ['CreatedDate', 'LastModifiedDate', 'SystemModstamp']) {
    const v = record[f];
    if (typeof v === 'string' && /\.\d{3}Z$/.test(v)) record[f] = v.replace(/\.\d{3}Z$/, '.000Z');
  }
  if (o.field('InsertedById')) record.InsertedById ??= userId;
  if (name === 'feeditem') {
    record.Type ??= 'TextPost';
    if (record.Type === 'TextPost' && (record.Body === null || record.Body === undefined || String(record.Body).trim() === ''))
      throw new SfError(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [Body]', ['Body']);
    return;
  }
  if (typeof record.FeedItemId !== 'string') return; // REQUIRED_FIELD_MISSING, from the required-field check
  const post = get(record.FeedItemId);
  if (!post) throw new SfError(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['FeedItemId']);
  record.ParentId = post.record.ParentId ?? null;
  record.CommentType ??= 'TextComment';
  if (record.CommentType === 'TextComment' && (record.CommentBody === null || String(record.CommentBody ?? '').trim() === ''))
    throw new SfError(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [CommentBody]', ['CommentBody']);
}
