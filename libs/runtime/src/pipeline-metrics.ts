import client from 'prom-client';
import type { Job, Worker } from 'bullmq';
import { DEPENDENCIES } from './dependency-error';
import { dependencyWaits, type DependencyWaitTracker } from './dependency-wait';
import { metricsIn } from './metrics';

/** Job metrics every worker app exports: durations per stage and failures by reason. */
export function createPipelineMetrics(registry: client.Registry, waits: DependencyWaitTracker = dependencyWaits) {
  const labels = [...DEPENDENCIES, 'unknown'] as const;
  const { counter, gauge, histogram } = metricsIn(registry);
  // Each scrape reads the tracker's current waits into a per-dependency gauge.
  const perDependency = (value: (wait: { jobs: number; outageSeconds: number } | undefined) => number) =>
    function (this: client.Gauge<'dependency'>) {
      const now = waits.snapshot();
      for (const d of labels) this.set({ dependency: d }, value(now.get(d)));
    };
  return {
    jobsWaitingOnDependency: gauge(
      'broker_jobs_waiting_on_dependency',
      ['dependency'],
      'Jobs this process delayed because a dependency is unreachable or timing out (no attempt spent); alert when above 0 for minutes',
      perDependency((w) => w?.jobs ?? 0),
    ),
    dependencyOutageSeconds: gauge(
      'broker_dependency_outage_seconds',
      ['dependency'],
      'Seconds since the longest-waiting job of this process first found the dependency down; 0 when none waits',
      perDependency((w) => Math.round(w?.outageSeconds ?? 0)),
    ),
    dependencyDelays: counter(
      'broker_dependency_delays_total',
      ['dependency'],
      'Times a job was delayed for an unavailable dependency',
      function () {
        // The tracker holds the running totals; the counter mirrors them at each scrape.
        this.reset();
        for (const d of labels) this.inc({ dependency: d }, waits.delays.get(d) ?? 0);
      },
    ),
    jobSeconds: histogram(
      'broker_job_duration_seconds',
      ['queue', 'job', 'outcome'],
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      'Processing time of jobs, by queue, job name and outcome',
    ),
    failures: counter(
      'broker_job_failures_total',
      ['queue', 'reason', 'final'],
      'Job failures by queue and reason (Salesforce errorCode, fieldnation-<status>, mapping, config, ...); final = no retry left',
    ),
    sfApiCalls: counter(
      'broker_salesforce_api_calls_total',
      ['connection', 'kind'],
      'Salesforce API calls made by the broker (logins excluded)',
    ),
    sfLogins: counter('broker_salesforce_logins_total', ['connection'], 'Salesforce logins (session creations and refreshes)'),
    sfApiUsed: gauge('broker_salesforce_api_usage', ['connection'], 'Daily API requests used, as last reported by Sforce-Limit-Info'),
    sfApiLimit: gauge('broker_salesforce_api_limit', ['connection'], 'Daily API request allowance, as last reported by Sforce-Limit-Info'),
    fnCalls: counter(
      'broker_fieldnation_calls_total',
      ['connection', 'route', 'status'],
      'Field Nation API calls by route and status class',
    ),
    fnRateLimited: counter('broker_fieldnation_429_total', ['connection'], 'Field Nation 429 (rate limited) answers'),
  };
}

export type PipelineMetrics = ReturnType<typeof createPipelineMetrics>;

/**
 * What a failure is counted under: the reason a permanent error names, a Salesforce errorCode
 * (UNABLE_TO_LOCK_ROW, FIELD_CUSTOM_VALIDATION_EXCEPTION), a Field Nation status, else the error's
 * name. Bounded: codes and statuses, never messages or ids.
 */
export function failureReason(err: Error): string {
  const e = err as Error & { reason?: unknown; errorCode?: unknown; status?: unknown };
  if (typeof e.reason === 'string' && e.reason) return e.reason;
  if (typeof e.errorCode === 'string' && /^[A-Z0-9_]{2,64}$/.test(e.errorCode)) return e.errorCode;
  if (e.name === 'FieldNationError' && typeof e.status === 'number') return `fieldnation-${e.status || 'network'}`;
  return e.name || 'Error';
}

/** Record durations and failures of a worker's jobs. */
export function observeWorker(worker: Worker, metrics: PipelineMetrics): void {
  const started = new Map<string, number>();
  worker.on('active', (job: Job) => {
    started.set(job.id!, performance.now());
  });
  const done = (job: Job, outcome: string) => {
    const t0 = started.get(job.id!);
    started.delete(job.id!);
    if (t0 !== undefined) metrics.jobSeconds.observe({ queue: worker.name, job: job.name, outcome }, (performance.now() - t0) / 1000);
  };
  worker.on('completed', (job: Job) => done(job, 'completed'));
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (!job) return;
    done(job, 'failed');
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    metrics.failures.inc({ queue: worker.name, reason: failureReason(err), final: String(final) });
  });
}
