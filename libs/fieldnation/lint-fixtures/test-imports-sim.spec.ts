// Allowed (scripts/lint-boundaries-check.mjs expects no report): a test drives a simulator and libs/testing.
import { startFieldNationSim } from '../../../apps/fieldnation-sim/src/index';
import { TEST_PATH_TOKEN } from '@broker/testing';
import { FieldNationClient } from '@broker/fieldnation';

export const used = [startFieldNationSim, TEST_PATH_TOKEN, FieldNationClient];
