import { readFileSync } from 'node:fs';
import { previewMapping } from '@broker/mapping';
import { CliError, type CliIo } from './cli-io';

/** Run a mapping over a sample record (as the REST API returns it) and print the payload or every error. */
export async function mappingPreviewCommand(mappingFile: string, recordFile: string, io: CliIo): Promise<number> {
  let record: unknown;
  try {
    record = JSON.parse(readFileSync(recordFile, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read record ${recordFile}: ${(err as Error).message}`);
  }
  if (!record || typeof record !== 'object' || Array.isArray(record))
    throw new CliError(`${recordFile}: expected one JSON object (a record)`);
  const result = await previewMapping(mappingFile, record as Record<string, unknown>);
  if (!result.ok) {
    io.err(`mapping ${mappingFile} failed on ${recordFile}:`);
    for (const e of result.errors) io.err(`  - ${e}`);
    return 1;
  }
  io.out(JSON.stringify(result.payload, null, 2));
  io.err(`reads ${result.reads.length} Salesforce field(s): ${result.reads.join(', ')}`);
  return 0;
}
