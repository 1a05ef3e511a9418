import { pino, type Logger } from 'pino';
import { readConfigFile, resolveConfigPath, type LoadedConfig } from '@broker/config';
import { connectionCatalogueLookup } from '@broker/fieldnation';
import { compileEventRules, compileObjectEventRules, validateMapping } from '@broker/mapping';
import { fieldnationChecks } from './fieldnation-checks';
import { fail, ok, type CheckResult, type PreflightReport } from './preflight.types';
import { salesforceChecks } from './salesforce-checks';

export interface PreflightOptions {
  /** Public base URL of the ingress (PUBLIC_URL): the webhook must point at it. */
  publicUrl?: string;
  logger?: Logger;
}

/** Thrown for a connection id the config does not have. */
export class UnknownConnectionError extends Error {
  constructor(readonly connectionId: string) {
    super(`no connection "${connectionId}" in the config`);
    this.name = 'UnknownConnectionError';
  }
}

/**
 * Live, read-only preflight of one connection against Salesforce and Field Nation: logins, the
 * objects, fields and catalogue ids the config and mappings name, the webhook subscription, the
 * API allowance. Every problem becomes a failed check; only an unknown connection id throws.
 */
export async function runPreflight(config: LoadedConfig, connectionId: string, options: PreflightOptions = {}): Promise<PreflightReport> {
  const started = Date.now();
  const connection = config.connections.find((c) => c.id === connectionId);
  if (!connection) throw new UnknownConnectionError(connectionId);
  const logger = options.logger ?? pino({ level: 'silent' });
  const report = (checks: CheckResult[], salesforceApiCalls: number, fieldnationRequests: number): PreflightReport => ({
    connectionId,
    checks,
    ok: checks.every((c) => c.status !== 'fail'),
    salesforceApiCalls,
    fieldnationRequests,
    durationMs: Date.now() - started,
  });

  // The live checks read the mappings: a file that does not compile is reported alone.
  const problems: string[] = [];
  for (const [object, o] of Object.entries(connection.objects)) {
    if (o.mapping) {
      try {
        // The full check (names resolved on Field Nation only when the mapping uses names).
        await validateMapping(readConfigFile(config, o.mapping), {
          file: resolveConfigPath(config, o.mapping),
          lookup: connectionCatalogueLookup(connection.fieldnation, { logger }),
        });
      } catch (err) {
        problems.push(`objects.${object}.mapping: ${(err as Error).message}`);
      }
    }
    if (o.eventRules) {
      try {
        compileObjectEventRules(readConfigFile(config, o.eventRules), { file: resolveConfigPath(config, o.eventRules), object });
      } catch (err) {
        problems.push(`objects.${object}.eventRules: ${(err as Error).message}`);
      }
    }
  }
  if (connection.eventRules) {
    try {
      compileEventRules(readConfigFile(config, connection.eventRules), { file: resolveConfigPath(config, connection.eventRules) });
    } catch (err) {
      problems.push(`eventRules: ${(err as Error).message}`);
    }
  }
  const title = 'Mapping and event-rules files compile';
  if (problems.length) {
    return report(
      [
        fail(
          'config.mappings',
          title,
          problems.join('\n'),
          `fix the files (broker config validate ${config.file} shows every problem); nothing was checked against Salesforce or Field Nation`,
        ),
      ],
      0,
      0,
    );
  }
  const files =
    Object.values(connection.objects).reduce((n, o) => n + (o.mapping ? 1 : 0) + (o.eventRules ? 1 : 0), 0) +
    (connection.eventRules ? 1 : 0);
  const [sf, fn] = await Promise.all([
    salesforceChecks(config, connection, logger),
    fieldnationChecks(config, connection, options.publicUrl, logger),
  ]);
  return report(
    [ok('config.mappings', title, `${files} file${files === 1 ? '' : 's'}`), ...sf.checks, ...fn.checks],
    sf.apiCalls,
    fn.requests,
  );
}
