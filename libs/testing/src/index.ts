export * from './env';
export * from './test-database';
export * from './listener';
export * from './test-config';
export * from './fakes';
export * from './processor-spec';
export * from './demo-config';
export * from './servers-for-file';
