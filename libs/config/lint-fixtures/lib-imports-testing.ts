// Deliberate violation (scripts/lint-boundaries-check.mjs): production code never imports libs/testing.
import { TEST_PATH_TOKEN } from '@broker/testing';

export const token = TEST_PATH_TOKEN;
