// Deliberate violation (scripts/lint-boundaries-check.mjs): an app never imports another app.
import { createIngressApp } from '../../ingress/src/ingress-app';

export const app = createIngressApp;
