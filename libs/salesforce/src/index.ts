export * from './sf-id';
export * from './outbound-message';
export * from './soql-builder';
export * from './soql-condition';
// The jsforce client is its own entry point, '@broker/salesforce/client': the ingress and the
// simulators need ids and Outbound Messages only, and jsforce costs ~38 MB of memory to load.
