import type { Dependency } from './dependency-error';

export interface DependencyWaitOptions {
  /** First wait after an outage error. Default 1 000 ms. */
  initialDelayMs?: number;
  /** Ceiling of the doubling waits. Default 60 000 ms. */
  maxDelayMs?: number;
  /**
   * How long one job may wait for its dependencies in total before outage errors spend attempts
   * again (and so, eventually, dead-letter it). Default 0 = forever: an outage delays work, the
   * `broker_dependency_outage_seconds` metric is what gets someone to fix it.
   */
  maxWaitMs?: number;
}

export const DEPENDENCY_WAIT_DEFAULTS: Required<DependencyWaitOptions> = { initialDelayMs: 1_000, maxDelayMs: 60_000, maxWaitMs: 0 };

/** What a job's waits came to, handed to `onDependencyWaitOver` once it ran through (for the timeline). */
export interface DependencyWait {
  /** The dependency of the latest wait (an outage of PostgreSQL that then hits Field Nation names the last). */
  dependency: Dependency | 'unknown';
  /** Every dependency waited for, in order of first wait. */
  dependencies: (Dependency | 'unknown')[];
  /** When the job first found a dependency down. */
  since: Date;
  /** Time from `since` to the end of the wait. */
  waitedMs: number;
  /** How many times it was delayed. */
  delays: number;
  /** `waited for PostgreSQL for 83 s (12 delays, no attempt spent)`. */
  message: string;
}

/** Wait state of one job, kept in Redis beside the job (another replica may pick the job up next). */
export interface StoredWait {
  dependency: Dependency | 'unknown';
  dependencies: (Dependency | 'unknown')[];
  since: number;
  delays: number;
}

/** The next delay: doubling from the initial one up to the ceiling, with up to 20% jitter so waiting jobs do not return as one burst. */
export function dependencyDelay(delays: number, options: Required<DependencyWaitOptions>, random = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(delays, 30));
  return Math.round(base * (0.8 + 0.2 * random()));
}

/**
 * Jobs this process put to wait, for the metrics. An entry lives until its delay is over plus a
 * grace period (the job may be picked up by another replica, which then counts it), or until this
 * process sees the job run through.
 */
export class DependencyWaitTracker {
  private readonly waiting = new Map<string, { dependency: Dependency | 'unknown'; since: number; until: number }>();
  /** Delays per dependency since start (a counter). */
  readonly delays = new Map<Dependency | 'unknown', number>();

  constructor(private readonly graceMs = 30_000) {}

  waited(key: string, dependency: Dependency | 'unknown', since: number, delayMs: number, now = Date.now()): void {
    this.waiting.set(key, { dependency, since, until: now + delayMs + this.graceMs });
    this.delays.set(dependency, (this.delays.get(dependency) ?? 0) + 1);
  }

  done(key: string): void {
    this.waiting.delete(key);
  }

  /** Jobs waiting now and seconds since the oldest of them began waiting, per dependency. */
  snapshot(now = Date.now()): Map<Dependency | 'unknown', { jobs: number; outageSeconds: number }> {
    const out = new Map<Dependency | 'unknown', { jobs: number; outageSeconds: number }>();
    for (const [key, w] of this.waiting) {
      if (w.until < now) {
        this.waiting.delete(key);
        continue;
      }
      const s = out.get(w.dependency) ?? { jobs: 0, outageSeconds: 0 };
      s.jobs += 1;
      s.outageSeconds = Math.max(s.outageSeconds, (now - w.since) / 1000);
      out.set(w.dependency, s);
    }
    return out;
  }
}

/** One per process: the worker wrapper feeds it, createPipelineMetrics exports it. */
export const dependencyWaits = new DependencyWaitTracker();
