export * from './define-queue';
export * from './queues';
export * from './enqueue';
export * from './stages';
export * from './schedulers';
export * from './job-ids';
export * from './fieldnation-domain';
