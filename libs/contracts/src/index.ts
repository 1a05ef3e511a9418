export * from './define-queue';
export * from './queues';
export * from './enqueue';
