import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
}

export interface Shutdown {
  /** Steps run in the order added: add HTTP first, then workers, queues, Prisma, Redis. */
  add(name: string, run: ShutdownStep['run']): void;
  /** Idempotent: the second call returns the first call's promise. */
  run(reason: string): Promise<void>;
  /** Install SIGTERM/SIGINT handlers that run the shutdown and exit. */
  onSignals(exit?: (code: number) => void): void;
}

export function createShutdown(logger: Logger, deadlineMs: number): Shutdown {
  const steps: ShutdownStep[] = [];
  let running: Promise<void> | undefined;
  let failed = false;

  const run = (reason: string): Promise<void> => {
    running ??= (async () => {
      logger.info({ reason, deadlineMs }, 'shutting down');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), deadlineMs);
        timer.unref();
      });
      const sequence = (async () => {
        for (const step of steps) {
          try {
            await step.run();
            logger.debug({ step: step.name }, 'shutdown step done');
          } catch (err) {
            failed = true;
            logger.error({ step: step.name, err }, 'shutdown step failed');
          }
        }
        return 'done' as const;
      })();
      const outcome = await Promise.race([sequence, deadline]);
      clearTimeout(timer);
      if (outcome === 'deadline') {
        failed = true;
        logger.error({ deadlineMs }, 'shutdown deadline passed; exiting with work still open');
      } else {
        logger.info('shutdown complete');
      }
    })();
    return running;
  };

  return {
    add(name, fn) {
      steps.push({ name, run: fn });
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
