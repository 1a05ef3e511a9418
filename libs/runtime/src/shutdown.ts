import type { Logger } from 'pino';

/**
 * The order an app closes in: stop taking requests, let in-flight jobs finish, then close what those
 * jobs write to (queues), and last the connections everything above still uses (Prisma, Redis).
 * Closing Redis before the workers would fail their in-flight jobs; closing queues before the
 * workers would fail the adds those jobs make.
 */
export const SHUTDOWN_PHASES = ['http', 'workers', 'queues', 'prisma', 'redis'] as const;
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

export interface ShutdownStep {
  phase: ShutdownPhase;
  name: string;
  run: () => Promise<unknown> | unknown;
}

export interface Shutdown {
  /**
   * Register a closer in its phase. Phases run in SHUTDOWN_PHASES order whatever the order of the
   * `add` calls; the closers of one phase run concurrently.
   */
  add(phase: ShutdownPhase, run: ShutdownStep['run'], name?: string): void;
  /** Idempotent: the second call returns the first call's promise. */
  run(reason: string): Promise<void>;
  /** Install SIGTERM/SIGINT handlers that run the shutdown and exit. */
  onSignals(exit?: (code: number) => void): void;
}

export function createShutdown(logger: Logger, deadlineMs: number): Shutdown {
  const steps: ShutdownStep[] = [];
  let running: Promise<void> | undefined;
  let failed = false;
  /** Index of the phase being closed; a closer added for a phase already closed runs at once. */
  let current = -1;

  const runStep = async (step: ShutdownStep) => {
    try {
      await step.run();
      logger.debug({ phase: step.phase, step: step.name }, 'shutdown step done');
    } catch (err) {
      failed = true;
      logger.error({ phase: step.phase, step: step.name, err }, 'shutdown step failed');
    }
  };

  const run = (reason: string): Promise<void> => {
    running ??= (async () => {
      logger.info({ reason, deadlineMs }, 'shutting down');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), deadlineMs);
        timer.unref();
      });
      const sequence = (async () => {
        for (const [i, phase] of SHUTDOWN_PHASES.entries()) {
          current = i;
          await Promise.all(steps.filter((s) => s.phase === phase).map(runStep));
        }
        return 'done' as const;
      })();
      const outcome = await Promise.race([sequence, deadline]);
      clearTimeout(timer);
      if (outcome === 'deadline') {
        failed = true;
        logger.error({ deadlineMs, phase: SHUTDOWN_PHASES[current] }, 'shutdown deadline passed; exiting with work still open');
      } else {
        logger.info('shutdown complete');
      }
    })();
    return running;
  };

  return {
    add(phase, fn, name = phase) {
      const index = SHUTDOWN_PHASES.indexOf(phase);
      if (index < 0) throw new Error(`unknown shutdown phase "${String(phase)}" (one of ${SHUTDOWN_PHASES.join(', ')})`);
      const step = { phase, name, run: fn };
      steps.push(step);
      if (running && index <= current) void runStep(step);
    },
    run,
    onSignals(exit = (code) => process.exit(code)) {
      const handler = (signal: NodeJS.Signals) => {
        void run(signal).then(() => exit(failed ? 1 : 0));
      };
      process.once('SIGTERM', handler);
      process.once('SIGINT', handler);
    },
  };
}
