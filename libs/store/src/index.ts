export * from './prisma-client';
export * from './store';
export * from './retention';
