import { CHATTER_DEFAULTS, messageChannelOf, type ConnectionConfig } from '@broker/config';
import type { Store } from '@broker/store';

/** Where an event's comment goes on the record (the sf.write job's comment channel fields). */
export interface CommentDestination {
  channel?: 'CaseComment' | 'FeedItem' | 'FeedComment';
  feedItemId?: string;
  bodyField?: string;
}

/** The key prefix of FeedItem ids (a post; FeedComment ids start 0D7). */
const FEED_ITEM_PREFIX = '0D5';

/**
 * A comment for a record of `sfObject`: a CaseComment on a Case (as before), a Chatter post on an
 * object with messageChannel chatter, or, for a Field Nation reply whose thread started from (or was
 * posted as) a Chatter post, a comment on that post. Null: the object has no message channel, so the
 * comment has nowhere to go.
 */
export async function commentDestination(
  connection: ConnectionConfig,
  sfObject: string,
  store: Pick<Store, 'findMessageLinkByFnMessage'>,
  thread: { workOrderId: number; parentMessageId?: string },
): Promise<CommentDestination | null> {
  const channel = messageChannelOf(connection, sfObject);
  if (channel === 'CaseComment') return {};
  if (channel !== 'chatter') return null;
  const options = { ...CHATTER_DEFAULTS, ...connection.objects[sfObject]?.chatter };
  if (thread.parentMessageId) {
    const parent = await store.findMessageLinkByFnMessage(connection.id, thread.workOrderId, thread.parentMessageId);
    const post = parent?.caseCommentId?.trim();
    if (post?.startsWith(FEED_ITEM_PREFIX)) return { channel: 'FeedComment', feedItemId: post, bodyField: options.commentBodyField };
  }
  return { channel: 'FeedItem', bodyField: options.bodyField };
}
