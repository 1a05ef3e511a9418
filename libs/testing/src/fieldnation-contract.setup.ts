// Vitest setup file (every project, see vitest.shared.ts): after each test file, fail it when a
// Field Nation simulator of this process saw a request or sent a response outside Field Nation's
// OpenAPI definitions. The simulator also answers such calls 400/500, but a broker component that
// retries, dead-letters or tolerates errors could hide that; this check cannot be hidden.
// Reads the simulator's process-wide registry by its global key, so libs do not import the app.
import { afterAll } from 'vitest';

interface Violation {
  direction: string;
  method: string;
  path: string;
  status: number;
  message: string;
}

const KEY = Symbol.for('fieldnation-sim.contract-violations');

afterAll(() => {
  const registry = (globalThis as Record<symbol, { violations: Violation[] } | undefined>)[KEY];
  const violations = registry?.violations.splice(0) ?? [];
  if (violations.length === 0) return;
  const lines = violations.map((v) => `  ${v.direction} ${v.method} ${v.path} → ${v.status}: ${v.message}`);
  throw new Error(`Field Nation contract (apps/fieldnation-sim/openapi) violated ${violations.length} time(s):\n${lines.join('\n')}`);
});
