export * from './preflight.types';
export { runPreflight, UnknownConnectionError, type PreflightOptions } from './run-preflight';
export { webhookPlan, webhookEvents, webhookUrl, WebhookPlanError, type WebhookPlan } from './webhook-plan';
export { fieldNationRefs, type FieldNationRefs, type RefKind } from './mapping-refs';
