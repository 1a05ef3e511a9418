export * from './logger';
export * from './env';
export * from './redis';
export * from './metrics';
export * from './ops-server';
export * from './shutdown';
export * from './worker';
