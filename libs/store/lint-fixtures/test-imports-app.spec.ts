// Deliberate violation (scripts/lint-boundaries-check.mjs): tests may import simulators, not other apps.
import { createIngressApp } from '../../../apps/ingress/src/ingress-app';

export const app = createIngressApp;
