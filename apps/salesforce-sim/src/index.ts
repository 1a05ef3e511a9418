export { startSalesforceSim, SalesforceSim, type RecordWriteOptions } from './salesforce-sim';
export type { SalesforceSimOptions } from './sim-options';
export type {
  OrgDefinition,
  OutboundMessageDefinition,
  FlowDefinition,
  ConditionDefinition,
  OutboundFaults,
} from './org/org.schema';
export type { FaultDefinition, Fault } from './control/fault-injector';
export type { OutboundNotification, DeliveryRecord, NotificationStatus } from './outbound/outbound-queue';
export { retryGap } from './outbound/outbound-queue';
export type { OutboundMessage } from './outbound/automation';
export type { CountersSnapshot } from './core/counters';
export type { LoginFlow } from './auth/session-store';
export { isAck } from './outbound/ack-parser';
export { DEFAULT_ORG_FILE, loadOrgFile } from './org/org-loader';
export type { SimContext } from './sim-context';
export type { RecordData, Value } from './org/org-model';
export type { QueryResult } from './soql/soql-executor';
export type { FlowConfig } from './org/org.schema';
