import type pg from 'pg';
import type { StageRecord } from '@broker/contracts';

/**
 * The insert of timeline rows given as one array per column (`timelineParams`) at parameters
 * `$first`…`$first + 11`, in the arrays' order; `condition` (a WHERE clause) lets a CTE insert them
 * only when its other statement applied.
 */
export function timelineInsert(first = 1, condition = ''): string {
  const p = (n: number) => `$${first + n}`;
  return `INSERT INTO timeline_entry (connection_id, sf_id, work_order_id, stage, outcome, queue, job_id, message, sf_api_calls, detail, at, config_version)
  SELECT c, s, w, st, o, q, j, m, n, d, a, v FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::int[], ${p(3)}::text[], ${p(4)}::text[],
    ${p(5)}::text[], ${p(6)}::text[], ${p(7)}::text[], ${p(8)}::int[], ${p(9)}::jsonb[], ${p(10)}::timestamptz[], ${p(11)}::text[])
    WITH ORDINALITY AS t(c, s, w, st, o, q, j, m, n, d, a, v, i) ${condition} ORDER BY i`;
}

const TIMELINE_INSERT = timelineInsert();

/**
 * Timeline rows as one array per column, for `timelineInsert`:
 * any number of rows, one statement text (so PostgreSQL prepares it once per connection).
 */
export function timelineParams(rows: readonly StageRecord[]): unknown[][] {
  const cols: unknown[][] = Array.from({ length: 12 }, () => new Array<unknown>(rows.length));
  const now = new Date();
  rows.forEach((r, i) => {
    cols[0]![i] = r.connectionId;
    cols[1]![i] = r.sfId ?? null;
    cols[2]![i] = r.workOrderId ?? null;
    cols[3]![i] = r.stage;
    cols[4]![i] = r.outcome;
    cols[5]![i] = r.queue ?? null;
    cols[6]![i] = r.jobId ?? null;
    cols[7]![i] = r.message?.slice(0, 4_000) ?? null;
    cols[8]![i] = r.sfApiCalls ?? 0;
    cols[9]![i] = r.detail === undefined ? null : JSON.stringify(r.detail);
    cols[10]![i] = (r.at ?? now).toISOString();
    cols[11]![i] = r.configVersion ?? null;
  });
  return cols;
}

/** Rows one statement carries at most (the arrays' size; a larger queue goes in several statements). */
const MAX_BATCH = 500;

interface Pending {
  rows: readonly StageRecord[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for timeline rows: the rows of concurrent jobs that arrive while a statement is in
 * flight are inserted together by the next one, one INSERT (one commit) for many rows. Each caller's
 * promise settles when the statement holding its rows has committed, so a job still awaits its own
 * row as before (durability and order within a job are unchanged); idle, a row goes at once. A failed
 * batch of several callers is retried row set by row set, so one caller's bad row never fails another's.
 */
export function createTimelineWriter(pool: pg.Pool): (rows: readonly StageRecord[]) => Promise<void> {
  let queue: Pending[] = [];
  let flushing = false;
  // async: a row that cannot be serialised rejects like one PostgreSQL refuses.
  const insert = async (rows: readonly StageRecord[]) => {
    await pool.query({ name: 'timeline_insert', text: TIMELINE_INSERT, values: timelineParams(rows) });
  };

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (queue.length) {
        let count = 0;
        let take = 0;
        while (take < queue.length && (take === 0 || count + queue[take]!.rows.length <= MAX_BATCH)) count += queue[take++]!.rows.length;
        const batch = queue.slice(0, take);
        queue = queue.slice(take);
        try {
          await insert(batch.flatMap((p) => p.rows));
          for (const p of batch) p.resolve();
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
            continue;
          }
          for (const p of batch) await insert(p.rows).then(p.resolve, p.reject);
        }
      }
    } finally {
      flushing = false;
    }
  }

  return (rows) => {
    if (rows.length === 0) return Promise.resolve();
    // A row without a time is stamped now, not when its batch goes.
    const now = new Date();
    const stamped = rows.map((r) => (r.at ? r : { ...r, at: now }));
    return new Promise<void>((resolve, reject) => {
      queue.push({ rows: stamped, resolve, reject });
      if (!flushing) void flush();
    });
  };
}
