export { startFieldNationSim, FieldNationSim } from './fieldnation-sim';
export type { FieldNationSimOptions, RateLimitOptions, ResolvedSimOptions, SimCredentials, WebhookDeliveryOptions } from './sim-options';
export { DEFAULT_CREDENTIALS } from './sim-options';
export type { ContractViolation } from './contract/contract-check';
export { formatViolation, takeProcessContractViolations } from './contract/contract-check';
export type {
  BuyerUserOptions,
  DispatcherActions,
  ProviderOptions,
  RegisterWebhookInput,
  TechnicianActions,
  WorkOrderJson,
} from './control/sim-control';
export type { Fault, FaultSpec } from './core/fault-injector';
export type { CountersSnapshot, RouteCounter } from './core/counters';
export type { DeliveryAttempt, DeliveryFaultSpec, DeliveryRecord, DeliveryStatus } from './webhooks/webhook-sender';
export type { WebhookRecord, SignatureMode } from './webhooks/webhook-registry';
export { signLegacy, signV3 } from './webhooks/webhook-signing';
export { EVENT_CATALOGUE } from './work-orders/work-order-events';
export { STATUS, STATUS_NAMES } from './work-orders/work-order.model';
export {
  API_USER_ID,
  BUYER_USERS,
  CUSTOM_FIELDS,
  DEFAULT_PROVIDER_ID,
  DISPATCHER_USER_ID,
  PROJECTS,
  PROVIDERS,
  TALENT_POOLS,
  TEMPLATES,
  TYPES_OF_WORK,
} from './work-orders/catalogue';
