export * from './preflight.types';
export { runPreflight, UnknownConnectionError, type PreflightOptions } from './run-preflight';
export { webhookPlan, webhookEvents, webhookUrl, WebhookPlanError, type WebhookPlan } from './webhook-plan';
export { fieldNationRefs, type FieldNationRefs, type RefKind } from './mapping-refs';
export {
  generateSalesforceMetadata,
  apiName,
  parseSimpleTrigger,
  flowEntryConditions,
  INTEGRATION_USER_PLACEHOLDER,
  INTEGRATION_USER_ID_PLACEHOLDER,
  type GeneratedFile,
  type GeneratedMetadata,
  type MetadataRequest,
  type SimpleFilter,
} from './salesforce-metadata.generator';
export { webhookStatus, applyWebhookPlan, type WebhookStatus } from './webhook-apply';
