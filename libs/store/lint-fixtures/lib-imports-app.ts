// Deliberate violation (scripts/lint-boundaries-check.mjs): a lib never imports an app.
import { createIngressApp } from '../../../apps/ingress/src/ingress-app';

export const app = createIngressApp;
