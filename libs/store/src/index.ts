export * from './prisma-client';
export * from './store';
export * from './retention';
export * from './file-links';
