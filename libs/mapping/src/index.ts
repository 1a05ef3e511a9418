export { compileMapping, type CompiledMapping, type CompileOptions } from './mapping-compiler';
export {
  compileEventRules,
  readWebhookMessage,
  withWebhookMessage,
  type CompiledEventRules,
  type SalesforceChanges,
  type SalesforceValue,
  type WebhookMessage,
} from './event-rules';
export {
  loadMappingFile,
  loadEventRulesFile,
  compileObjectEventRules,
  loadMapping,
  validateMapping,
  mappingNameKinds,
  fetchCatalogues,
  type NameLookup,
  type LoadMappingOptions,
} from './mapping-loader';
export {
  CATALOGUE_LABEL,
  findNameUses,
  resolveName,
  resolveNames,
  type CatalogueEntry,
  type CatalogueKind,
  type NameCatalogues,
  type NameUse,
} from './mapping-names';
export {
  WORK_ORDER_TARGETS,
  listTargets,
  lookupTarget,
  closest,
  valueProblem,
  type TargetNode,
  type TargetInfo,
} from './fieldnation-targets';
export { previewMapping, type PreviewResult } from './mapping-preview';
export { minimalUpdate, payloadHash, canonicalJson, customFieldValues } from './minimal-update';
export { statusRank, isStatusEvent, STATUS_EVENT_RANKS } from './status-rank';
export { truncateUtf8, utf8Length, TRUNCATION_MARKER } from './utf8';
export { convertDate, FN_FORMAT, momentToLuxon } from './date-time';
export { runJsonnet } from './jsonnet-runner';
export {
  MappingError,
  formatIssue,
  type MappingIssue,
  type SalesforceRecord,
  type WorkOrderPayload,
  type FieldNationWebhookBody,
} from './mapping-types';
export { MappingFileSchema, EventRulesFileSchema } from './mapping.schema';
