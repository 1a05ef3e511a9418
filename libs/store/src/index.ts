export * from './prisma-client';
export * from './store';
