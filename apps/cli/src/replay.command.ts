import type { Job, Queue } from 'bullmq';
import { SingleBar, Presets } from 'cli-progress';
import { CliError, type CliIo } from './cli-io';
import { formatTable } from './text-table';

/** `2025-03-01T10:00:00Z`, `2025-03-01`, or a duration back from now: `90s`, `30m`, `6h`, `2d`. */
export function parseSince(text: string, now: Date = new Date()): Date {
  const relative = /^(\d+)\s*(s|m|h|d)$/i.exec(text.trim());
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(relative[1]) * unit);
  }
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new CliError(`--since: "${text}" is neither a date/time nor a duration like 30m, 6h, 2d`);
  return at;
}

const PAGE = 500;

/** Every failed job of the queue (oldest first), read page by page before anything is retried. */
async function failedJobs(queue: Queue, since?: Date): Promise<Job[]> {
  const found: Job[] = [];
  for (let start = 0; ; start += PAGE) {
    const page = await queue.getJobs(['failed'], start, start + PAGE - 1, true);
    for (const job of page) {
      if (!job) continue;
      if (since && (job.finishedOn ?? 0) < since.getTime()) continue;
      found.push(job);
    }
    if (page.length < PAGE) break;
  }
  return found;
}

export interface ReplayOptions {
  since?: Date;
  dryRun?: boolean;
}

/**
 * Retry the failed jobs (the dead-letter queue) of one queue after a fix, optionally only those that
 * failed since a time. The list is read first, so jobs failing again during the replay are not
 * picked up twice.
 */
export async function replayCommand(queue: Queue, options: ReplayOptions, io: CliIo): Promise<number> {
  const jobs = await failedJobs(queue, options.since);
  const scope = `${queue.name}${options.since ? ` failed since ${options.since.toISOString()}` : ''}`;
  if (jobs.length === 0) {
    io.out(`no failed jobs in ${scope}`);
    return 0;
  }
  if (options.dryRun) {
    io.out(
      formatTable(
        ['job id', 'name', 'failed at', 'attempts', 'reason'],
        jobs.map((j) => [j.id, j.name, j.finishedOn ? new Date(j.finishedOn).toISOString() : '', j.attemptsMade, j.failedReason]),
      ),
    );
    io.out(`\n${jobs.length} failed job(s) in ${scope} would be retried (dry run: nothing changed)`);
    return 0;
  }

  const bar =
    io.stderrIsTTY && io.progressStream
      ? new SingleBar(
          { stream: io.progressStream, format: `replay ${queue.name} [{bar}] {value}/{total} {eta_formatted}`, hideCursor: true },
          Presets.shades_classic,
        )
      : undefined;
  bar?.start(jobs.length, 0);
  let retried = 0;
  const skipped: string[] = [];
  for (const job of jobs) {
    try {
      await job.retry('failed');
      retried++;
    } catch (err) {
      // Removed by retention or already retried by someone else since the list was read.
      skipped.push(`${job.id}: ${(err as Error).message}`);
    }
    bar?.increment();
  }
  bar?.stop();
  io.out(`retried ${retried} failed job(s) in ${scope}`);
  if (skipped.length) {
    io.err(`${skipped.length} job(s) skipped:\n${skipped.map((s) => `  ${s}`).join('\n')}`);
    return 1;
  }
  return 0;
}
