// Field Nation's domain lives in the contracts (libs/contracts/src/fieldnation-domain.ts), where the
// simulator and the mapping reach it too; the client re-exports it for its callers.
export * from '@broker/contracts/fieldnation';
