// Deliberate violation (scripts/lint-boundaries-check.mjs): production code never imports a simulator.
import { startFieldNationSim } from '../../fieldnation-sim/src/index';

export const sim = startFieldNationSim;
