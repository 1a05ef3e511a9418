export * from './prisma-client';
export * from './store';
export * from './retention';
export * from './chatter-store';
