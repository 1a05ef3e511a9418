// BullMQ ships the types of its scripts with its ESM build only; the CommonJS build Node loads for
// `bullmq` has the same module. The one script the ingress runs itself (standard-job-writer.ts).
declare module 'bullmq/dist/cjs/scripts/addStandardJob-9.js' {
  export const addStandardJob: { name: string; content: string; keys: number };
}
