export * from './sf-id';
export * from './outbound-message';
export * from './soql-builder';
export * from './salesforce-client';
