// Deliberate violation (scripts/lint-boundaries-check.mjs): libs/mapping depends on no other lib.
import { createLogger } from '@broker/runtime';

export const logger = createLogger('mapping');
