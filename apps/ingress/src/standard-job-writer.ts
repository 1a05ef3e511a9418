import { runScript } from '@broker/runtime';
import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Packr } from 'msgpackr';
// BullMQ's own Lua for a plain add (bullmq is pinned in package.json; standard-job-writer.spec.ts
// compares what this writer stores with what Queue.addBulk stores, so an upgrade that changes the
// script's arguments fails there, not in production).
import { addStandardJob } from 'bullmq/dist/cjs/scripts/addStandardJob-9.js';

/** As BullMQ's Scripts packs a script's arguments and a job's options (msgpackr is pinned to BullMQ's version). */
const packer = new Packr({ useRecords: false, encodeUndefinedAsNil: true });

/**
 * BullMQ's script split into its helper functions (top-level `local function … end` blocks) and
 * the rest, its body; undefined when the text is not laid out so. Helpers read no KEYS or ARGV.
 */
export function splitScript(lua: string): { helpers: string; body: string } | undefined {
  const helpers: string[] = [];
  const body: string[] = [];
  let inHelper = false;
  for (const line of lua.split('\n')) {
    const opens = /^local function [A-Za-z_]\w*\s*\(/.test(line);
    if (opens && inHelper) return undefined;
    if (opens) inHelper = true;
    (inHelper ? helpers : body).push(line);
    if (inHelper && line.trimEnd() === 'end') inHelper = false;
  }
  if (inHelper || helpers.length === 0 || helpers.some((l) => /\b(KEYS|ARGV)\b/.test(l))) return undefined;
  return { helpers: helpers.join('\n'), body: body.join('\n') };
}

const split = splitScript(addStandardJob.content);

/**
 * BullMQ's addStandardJob, run once per job of the call: the same keys, job hash, wait list entry,
 * marker and events as one `addStandardJob` call per job (what `Queue.addBulk` pipelines), in one
 * script call. The script is BullMQ's text, its body wrapped in a function whose KEYS and ARGV are
 * the call's keys and the job's three arguments; its helper functions are defined once per call
 * before it (Redis's CPU per job −5 %: closures are not remade per job), with the `rcall` they
 * share. A helper that read one of the body's locals would fail loudly (Redis refuses reads of
 * undefined globals). Unsplittable text is wrapped whole.
 *
 * No other client's command runs between the jobs of one call; a script Redis refuses (out of
 * memory at its first write, NOSCRIPT) stores none of them, one that fails partway keeps those
 * added before the failure (as a failed pipeline did) and the retry's job ids collapse them.
 */
export const ADD_STANDARD_JOBS_LUA = `${split ? `local rcall = redis.call\n${split.helpers}\n` : ''}local function addStandardJob(KEYS, ARGV)
${split ? split.body : addStandardJob.content}
end
local ids = {}
for i = 1, #ARGV, 3 do
  ids[#ids + 1] = addStandardJob(KEYS, { ARGV[i], ARGV[i + 1], ARGV[i + 2] })
end
return ids
`;

/** Whether the helpers are defined once per call (the pinned BullMQ's script splits; the spec checks it). */
export const ADD_STANDARD_JOBS_SPLIT = split !== undefined;

export interface StandardJob {
  /** Deterministic id: an id already in the queue is kept as it is (BullMQ's duplicate handling), not overwritten. */
  jobId: string;
  /** The payload, already validated against its contract and JSON-encoded. */
  data: string;
}

export interface StandardJobWriter {
  /** Adds the jobs in one round trip and one script call; resolves with their ids once Redis has stored them. */
  add(name: string, jobs: readonly StandardJob[]): Promise<string[]>;
}

/** The queue defaults BullMQ would store with a job; refused when they need another add script than addStandardJob. */
function storedOptions(queue: Queue): Record<string, unknown> {
  // Job's constructor and optsAsJSON turn the queue defaults into the stored options exactly as
  // Queue.addBulk does for a job given only a jobId (attempts default, backoff normalised, short names).
  const template = new Job(queue, 'template', {}, { ...queue.defaultJobOptions, jobId: 'template' }, 'template');
  const o = template.opts;
  if (o.delay || o.priority || o.parent || o.repeat || o.deduplication || o.debounce || o.sizeLimit || o.telemetry || queue.opts.telemetry)
    throw new Error(
      `queue ${queue.name}: the standard job writer adds plain jobs only (no delay, priority, parent, repeat, deduplication, size limit or telemetry)`,
    );
  return Job.optsAsJSON(o) as Record<string, unknown>;
}

/**
 * A msgpack encoding with one string left out, to be filled per job: what comes before and after
 * it. msgpack writes an array's items and a map's entries one after the other, so the encoding of
 * the value with a given string is `before`, that string's own encoding, `after`
 * (standard-job-writer.spec.ts checks it against msgpackr's for ids of every size class).
 */
export interface PackedAround {
  before: Buffer;
  after: Buffer;
}

/** `value` packed with `hole` where the string goes; `hole` must be packed exactly once in it. */
export function packAround(value: unknown, hole: string): PackedAround {
  const packed = Buffer.from(packer.pack(value));
  const mark = Buffer.from(packer.pack(hole));
  const at = packed.indexOf(mark);
  if (at === -1 || packed.indexOf(mark, at + 1) !== -1) throw new Error('packAround: the hole is not packed exactly once');
  return { before: packed.subarray(0, at), after: packed.subarray(at + mark.length) };
}

/** `around` filled with `text` (one buffer). */
export function packWith(around: PackedAround, text: string): Buffer {
  const middle = packer.pack(text);
  const out = Buffer.allocUnsafe(around.before.length + middle.length + around.after.length);
  around.before.copy(out, 0);
  middle.copy(out, around.before.length);
  around.after.copy(out, around.before.length + middle.length);
  return out;
}

/** A string no job id, key prefix or job name is (ids are checked for ":"). */
const HOLE = '\u0000job:id\u0000';

/**
 * Adds plain jobs (no delay, priority, parent) to a BullMQ queue as `Queue.addBulk` would, without
 * a `Job` object, an options merge and an ioredis command per job: the ingress stores up to 100 jobs
 * per Outbound Message and that per-job machinery cost it more CPU than everything else it does.
 */
export function createStandardJobWriter(queue: Queue): StandardJobWriter {
  const key = (type: string): string => {
    const name = queue.keys[type];
    if (name === undefined) throw new Error(`queue ${queue.name} has no ${type} key`);
    return name;
  };
  // addStandardJob's KEYS, in its order; the key prefix of the queue's jobs.
  const keys = ['wait', 'paused', 'meta', 'id', 'completed', 'delayed', 'active', 'events', 'marker'].map(key);
  const jobKeyPrefix = key('');
  const options = packAround({ ...storedOptions(queue), jobId: HOLE }, HOLE);

  return {
    async add(name, jobs) {
      if (jobs.length === 0) return [];
      const client = (await queue.client) as unknown as Redis;
      // Scripts.addJob's arguments: key prefix, id, name, timestamp, parent key, parent dependencies
      // key, parent, repeat job key, deduplication key; packed once per call, the id per job.
      const args = packAround([jobKeyPrefix, HOLE, name, Date.now(), null, null, undefined, undefined, null], HOLE);
      const argv: (string | Buffer)[] = keys.slice();
      for (const job of jobs) {
        // Job.validateOptions' checks of a custom id (an integer id would collide with generated ones).
        if (job.jobId.includes(':') || `${parseInt(job.jobId, 10)}` === job.jobId)
          throw new Error(`queue ${queue.name}: job id ${job.jobId} is an integer or contains ":"`);
        argv.push(packWith(args, job.jobId), job.data, packWith(options, job.jobId));
      }
      const ids = (await runScript(client, ADD_STANDARD_JOBS_LUA, keys.length, ...argv)) as (string | number)[];
      for (const id of ids) {
        // The only negative code addStandardJob returns is for a missing parent (none here): a guard.
        if (typeof id === 'number') throw new Error(`queue ${queue.name}: adding a job failed with code ${id}`);
      }
      return ids as string[];
    },
  };
}
