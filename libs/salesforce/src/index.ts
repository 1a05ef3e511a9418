export * from './sf-id';
