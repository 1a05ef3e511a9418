import type { Job } from 'bullmq';
import { enqueue, sfWriteJobId, type fnEventQueue, type JobDataOf, type QueueLike, type sfWriteQueue } from '@broker/contracts';
import {
  readWebhookMessage,
  withWebhookMessage,
  type CompiledEventRules,
  type FieldNationWebhookBody,
  type WebhookMessage,
} from '@broker/mapping';
import { permanentError, type JobContext } from '@broker/runtime';
import type { Correlation, Store } from '@broker/store';
import { queueAttachmentCopy, type FileEventDeps } from './file-events';
import { commentDestination } from './comment-destination';

export interface EventDeps {
  /** Compiled event rules: an object's own by `${connectionId}/${sObject}`, the connection's by its id. */
  eventRules: ReadonlyMap<string, CompiledEventRules>;
  store: Pick<
    Store,
    | 'inboundAndWorkOrder'
    | 'markInboundProcessed'
    | 'findCorrelationByWorkOrder'
    | 'updateCorrelation'
    | 'findMessageLinkByFnMessage'
    | 'hasPendingPost'
  >;
  sfWriteQueue: QueueLike<typeof sfWriteQueue>;
  /** `GET /workorders/{id}/messages` of the connection: the fallback when a message event's body has no message text. */
  listMessages?: (connectionId: string, workOrderId: number) => Promise<ListedMessage[]>;
  /** Where provider uploads and completions queue the copy of attachments to Salesforce Files (file-events.ts). */
  sfFileQueue?: FileEventDeps['sfFileQueue'];
}

type EventJob = Job<JobDataOf<typeof fnEventQueue, 'fn-event'>, unknown, 'fn-event'>;

/** A work-order message as `GET /workorders/{id}/messages` lists it (replies nested). */
export interface ListedMessage {
  msg_id: string | number;
  parent_id?: string | number | null;
  message?: string;
  from?: { id?: number; name?: string };
  created?: { utc?: string };
  replies?: ListedMessage[];
}

/**
 * The message of a `workorder.message_posted` delivery: from the body in any known layout, otherwise
 * (no text in it) from the work order's messages, one Field Nation call. Throws a permanent error (a
 * failed, replayable job on the timeline) when neither yields it: a lost message must be visible.
 */
export async function resolveMessage(
  d: { connectionId: string; workOrderId: number; body: Record<string, unknown>; occurredAt: string },
  deps: Pick<EventDeps, 'listMessages'>,
): Promise<WebhookMessage> {
  const fromBody = readWebhookMessage(d.body);
  if (fromBody?.text !== undefined && fromBody.id !== undefined) return fromBody;
  if (!deps.listMessages) {
    throw permanentError(
      `message event of work order ${d.workOrderId}: ${fromBody ? `no ${fromBody.text === undefined ? 'text' : 'id'} at ${fromBody.source}` : 'no message in any known layout'} and no Field Nation client to read the messages`,
      0,
      'unknown-payload',
    );
  }
  const flat = (list: ListedMessage[]): ListedMessage[] => list.flatMap((m) => [m, ...flat(m.replies ?? [])]);
  const thread = flat(await deps.listMessages(d.connectionId, d.workOrderId));
  let hit: ListedMessage | undefined;
  if (fromBody?.id !== undefined) hit = thread.find((m) => String(m.msg_id) === fromBody.id);
  else if (fromBody?.text !== undefined)
    hit = thread.find((m) => m.message === fromBody.text && (fromBody.authorId === undefined || m.from?.id === fromBody.authorId));
  else {
    // No id and no text: the newest message at or before the event (Field Nation's "YYYY-MM-DD HH:MM:SS" UTC).
    const at = Date.parse(d.occurredAt);
    const created = (m: ListedMessage) => Date.parse(`${(m.created?.utc ?? '').replace(' ', 'T')}Z`);
    hit = thread.filter((m) => !(created(m) > at + 1000)).sort((a, b) => created(b) - created(a) || Number(b.msg_id) - Number(a.msg_id))[0];
  }
  if (!hit || typeof hit.message !== 'string') {
    const what = fromBody
      ? `${fromBody.source} has ${fromBody.id !== undefined ? `message id ${fromBody.id}` : 'no id'} but no text`
      : 'the body has no message in any known layout';
    throw permanentError(
      `message event of work order ${d.workOrderId}: ${what}, and GET /workorders/${d.workOrderId}/messages has no matching message (${thread.length} listed)`,
      0,
      'unknown-payload',
    );
  }
  return {
    id: String(hit.msg_id),
    text: hit.message,
    authorId: hit.from?.id ?? fromBody?.authorId,
    authorName: hit.from?.name ?? fromBody?.authorName,
    parentId: hit.parent_id != null ? String(hit.parent_id) : fromBody?.parentId,
    source: `GET /workorders/${d.workOrderId}/messages`,
  };
}

const STATUS_MARK = /^(-?\d+(?:\.\d+)?):/;

/** How long a message event waits for a pending post of the broker's own to finish (then it applies). */
const PENDING_POST_WAIT_MS = 120_000;

/**
 * One Field Nation webhook delivery, once: its id is the hash of the signed body (the ingress keys it
 * so), and the PostgreSQL inbound ledger remembers it after the Redis job is gone. A captured body
 * replayed under a new delivery id, or none, days later, is dropped here. Marked after the work: a
 * crash in between repeats the work, whose Salesforce write job id (from the same key) collapses.
 */
export async function handleFieldNationEvent(job: EventJob, deps: EventDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  // The ledger and the work order's correlation in one statement.
  const first = await deps.store.inboundAndWorkOrder(d.connectionId, 'fn', d.deliveryId, d.workOrderId);
  if (first.processed) {
    ctx.log.info({ workOrderId: d.workOrderId, event: d.eventName }, 'delivery already processed: dropped');
    return 'already-processed';
  }
  // Files first: an upload event that no rule listens to still brings its attachments over.
  await queueAttachmentCopy(job, deps, ctx);
  const outcome = await applyFieldNationEvent(job, deps, ctx, first.correlation);
  // The delivery's timeline row goes in the same statement (one commit).
  await deps.store.markInboundProcessed(
    { connectionId: d.connectionId, source: 'fn', notificationId: d.deliveryId, workOrderId: d.workOrderId },
    ctx.takeStages(),
  );
  return outcome;
}

/**
 * Apply the connection's event rules to one Field Nation webhook delivery and queue the Salesforce
 * write. Events for unknown work orders are recorded and skipped. A status older than the last
 * applied one (by event time, then lifecycle rank) does not overwrite it.
 */
async function applyFieldNationEvent(job: EventJob, deps: EventDeps, ctx: JobContext, known: Correlation | null): Promise<string> {
  const d = job.data;
  const connection = ctx.connection();
  // Written with the ledger mark at the end (or by the worker if the job stops before it).
  const record = async (outcome: 'ok' | 'skipped', message: string, sfId?: string) =>
    ctx.stageLater('event', outcome, { sfId, message: `${d.eventName}: ${message}` });

  let correlation = known;
  if (!correlation) {
    await record('skipped', 'work order is not known to the broker');
    return 'unknown-work-order';
  }
  // The correlated record's object chooses the rules: its own file, else the connection's.
  const rules = deps.eventRules.get(`${d.connectionId}/${correlation.sfObject}`) ?? deps.eventRules.get(d.connectionId);
  if (!rules) {
    await record('skipped', 'no event rules configured', correlation.sfId);
    return 'no-rules';
  }

  // Events the broker caused itself (its create, publish, route, messages) are echoes of its own
  // writes: applying them would spend Salesforce calls to tell Salesforce what it already said.
  const us = connection.fieldnation.integrationUserId;
  const triggeredBy = Number(d.body.triggered_by_user?.id);
  if (us !== undefined && triggeredBy === us && d.eventName !== 'workorder.message_posted') {
    await record('skipped', 'caused by the broker itself (no echo)', correlation.sfId);
    return 'own-event';
  }

  let fnMessageId: string | undefined;
  let parentMessageId: string | undefined;
  let body: FieldNationWebhookBody = d.body;
  if (d.eventName === 'workorder.message_posted') {
    const message = await resolveMessage(d, deps);
    body = withWebhookMessage(d.body, message);
    fnMessageId = message.id;
    parentMessageId = message.parentId;
    const byUs = us !== undefined && (message.authorId === us || (message.authorId === undefined && triggeredBy === us));
    const linked = fnMessageId !== undefined && (await deps.store.findMessageLinkByFnMessage(d.connectionId, d.workOrderId, fnMessageId));
    if (byUs || linked) {
      await record('skipped', `message ${fnMessageId ?? '?'} was posted by the broker (no echo)`, correlation.sfId);
      return 'own-message';
    }
    // The webhook of a message the broker just posted can arrive before the writer has stored the
    // message id. While such a post is pending on this work order, wait: its link will tell.
    if (us === undefined && (await deps.store.hasPendingPost(d.connectionId, d.workOrderId, new Date(Date.now() - PENDING_POST_WAIT_MS)))) {
      return await ctx.delay(500);
    }
  }

  const changes = await rules.apply(body);
  if (!changes || (Object.keys(changes.fields).length === 0 && !changes.comment)) {
    await record('skipped', 'no rule matches', correlation.sfId);
    return 'no-match';
  }
  const destination = changes.comment
    ? await commentDestination(connection, correlation.sfObject, deps.store, { workOrderId: d.workOrderId, parentMessageId })
    : undefined;
  if (changes.comment && destination === null) {
    ctx.log.warn({ sfObject: correlation.sfObject, event: d.eventName }, 'comment dropped: the object has no message channel');
    delete changes.comment;
    if (Object.keys(changes.fields).length === 0) {
      await record('skipped', `a comment only, and ${correlation.sfObject} has no message channel (messageChannel)`, correlation.sfId);
      return 'no-channel';
    }
  }

  let statusOrder: { at: string; rank: number; fields: string[] } | undefined;
  const fields = { ...changes.fields };
  if (changes.statusRank !== undefined) {
    const statusFields = changes.statusFields ?? Object.keys(fields);
    // Optimistic: read, compare, write with the row version; retry on a concurrent writer.
    for (let attempt = 0; ; attempt++) {
      const lastAt = correlation.lastFnStatusAt?.getTime() ?? -Infinity;
      const lastRank = Number(STATUS_MARK.exec(correlation.lastFnStatus ?? '')?.[1] ?? -Infinity);
      const at = Date.parse(d.occurredAt);
      const newer = at > lastAt || (at === lastAt && changes.statusRank >= lastRank);
      if (!newer) {
        for (const f of statusFields) delete fields[f];
        ctx.log.info({ workOrderId: d.workOrderId, event: d.eventName }, 'older status event: status fields not applied');
        break;
      }
      const updated = await deps.store.updateCorrelation(correlation.id, correlation.version, {
        lastFnStatusAt: new Date(at),
        lastFnStatus: `${changes.statusRank}:${d.eventName}`,
      });
      if (updated) {
        statusOrder = { at: new Date(at).toISOString(), rank: changes.statusRank, fields: statusFields };
        break;
      }
      if (attempt >= 10) throw new Error('correlation kept changing under the event; retrying the job');
      const fresh = await deps.store.findCorrelationByWorkOrder(d.connectionId, d.workOrderId);
      if (!fresh) throw new Error('correlation vanished');
      correlation = fresh;
    }
    if (Object.keys(fields).length === 0 && !changes.comment) {
      await record('skipped', 'older than the status already applied', correlation.sfId);
      return 'stale';
    }
  }

  await enqueue(
    deps.sfWriteQueue,
    'write-record',
    {
      connectionId: d.connectionId,
      sfObject: correlation.sfObject,
      sfId: correlation.sfId,
      fields,
      comment: changes.comment ? { ...changes.comment, ...(fnMessageId ? { fnMessageId } : {}), ...destination } : undefined,
      statusOrder,
      cause: { kind: fnMessageId ? 'fn-message' : 'fn-event', id: d.deliveryId, workOrderId: d.workOrderId, eventName: d.eventName },
    },
    { jobId: sfWriteJobId.event(d.connectionId, d.deliveryId) },
  );
  await record('ok', [Object.keys(fields).join(', '), changes.comment ? 'comment' : ''].filter(Boolean).join(' + '), correlation.sfId);
  return 'queued';
}
