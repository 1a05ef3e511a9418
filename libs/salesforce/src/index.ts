export * from './sf-id';
export * from './outbound-message';
export * from './soql-builder';
export * from './soql-condition';
export * from './soql-token-cursor';
// The jsforce client is its own entry point, '@broker/salesforce/client': the ingress and the
// simulators need ids and Outbound Messages only, and jsforce costs ~35 MB of memory to load. The
// client itself imports jsforce at its first login (a static import would be hoisted to the top of
// every esbuild bundle that reaches the module: the dashboard and the CLI, through the preflight).
// Streamed uploads and downloads (files both ways): no jsforce, no buffering of bodies.
export * from './multipart-stream';
export * from './stream-exchange';
// Whole answers on undici (the record query, the Field Nation calls); undici is loaded at the first call.
export * from './http-exchange';
