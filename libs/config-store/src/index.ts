export * from './config-store';
export * from './config-diff';
export * from './config-validation';
export * from './config-watch';
export * from './active-config';
