import type { JobDataOf, sfWriteQueue } from '@broker/contracts';
import type { CompositeSubrequest, SalesforceClient } from '@broker/salesforce/client';

type WriteComment = NonNullable<JobDataOf<typeof sfWriteQueue, 'write-record'>['comment']>;

const isId = (v: string | undefined): v is string => !!v && /^[a-zA-Z0-9]{15,18}$/.test(v);
const isField = (v: string) => /^[A-Za-z][A-Za-z0-9_]*$/.test(v);

/** The object and text field an event's comment is written as (CaseComment when no channel is given). */
export function messageTarget(comment: WriteComment): { object: 'CaseComment' | 'FeedItem' | 'FeedComment'; textField: string } {
  const object = comment.channel ?? 'CaseComment';
  const fallback = object === 'FeedItem' ? 'Body' : 'CommentBody';
  const textField = object !== 'CaseComment' && comment.bodyField && isField(comment.bodyField) ? comment.bodyField : fallback;
  return { object, textField };
}

/**
 * The composite subrequest that writes the comment: a CaseComment on the Case, a Chatter text post on
 * the record (plain text, so Field Nation's text shows as sent), or a comment on the Chatter post.
 * sObject REST, not Connect (Chatter) REST: it joins the field updates in the same composite call.
 */
export function messageRequest(base: string, sfId: string, comment: WriteComment): CompositeSubrequest {
  const { object, textField } = messageTarget(comment);
  const body =
    object === 'CaseComment'
      ? { ParentId: sfId, CommentBody: comment.body, IsPublished: comment.isPublished }
      : object === 'FeedItem'
        ? { ParentId: sfId, Type: 'TextPost', IsRichText: false, [textField]: comment.body }
        : { FeedItemId: comment.feedItemId, IsRichText: false, [textField]: comment.body };
  return { method: 'POST', url: `${base}/${object}`, referenceId: 'comment', body };
}

/**
 * The id of a comment or post with this text that the integration user wrote on the record (or the
 * Chatter post) since `since`: one query, on the retry path only. The text fields are long text
 * areas, which SOQL cannot filter on, so the text is compared here.
 */
export async function findOwnMessage(
  client: Pick<SalesforceClient, 'query'>,
  sfId: string,
  comment: WriteComment,
  since: Date,
  userId: string | undefined,
): Promise<string | undefined> {
  const { object, textField } = messageTarget(comment);
  const parent = object === 'FeedComment' ? comment.feedItemId : sfId;
  if (!isId(parent)) return undefined;
  const after = new Date(since.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const byUser = isId(userId) ? ` AND CreatedById = '${userId}'` : '';
  const parentField = object === 'FeedComment' ? 'FeedItemId' : 'ParentId';
  const { records } = await client.query<Record<string, unknown> & { Id: string }>(
    `SELECT Id, ${textField} FROM ${object} WHERE ${parentField} = '${parent}'${byUser} AND CreatedDate >= ${after} ORDER BY CreatedDate DESC LIMIT 200`,
  );
  const want = comment.body.trim();
  return records.find((r) => typeof r[textField] === 'string' && (r[textField] as string).trim() === want)?.Id;
}
