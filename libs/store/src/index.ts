export * from './prisma-client';
export * from './store';
export * from './retention';
export * from './file-links';
export * from './chatter-store';
