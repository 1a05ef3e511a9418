export * from './fieldnation-client';
export * from './fieldnation-clients';
export * from './fieldnation-transport';
export * from './fieldnation-error';
export * from './fieldnation.types';
export * from './token-bucket';
export { TokenProvider, type FieldNationCredentials } from './token-provider';
export * from './webhook-verifier';
export * from './fieldnation-attachments.types';
