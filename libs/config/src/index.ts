export * from './config.schema';
export * from './config-loader';
export * from './config-bundle';
export * from './config-secrets';
export * from './config-reload';
export * from './config-source';
export * from './files-policy';
export * from './message-channel';
