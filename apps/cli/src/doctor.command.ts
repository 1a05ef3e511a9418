import type { LoadedConfig } from '@broker/config';
import { runPreflight, type CheckResult, type PreflightReport } from '@broker/preflight';
import { CliError, type CliIo } from './cli-io';

export interface DoctorOptions {
  connection?: string;
  /** Public base URL of the ingress: the Field Nation webhook must point at it. */
  url?: string;
  json?: boolean;
}

const MARK: Record<CheckResult['status'], string> = { ok: '✓', warn: '!', fail: '✗' };
const indent = (text: string, by: string) => text.replace(/\n/g, `\n${by}`);

/** The checklist as text: one line per check, its detail, and a fix hint under every warn or fail. */
export function formatReport(report: PreflightReport): string[] {
  const lines = [`connection ${report.connectionId}:`];
  for (const c of report.checks) {
    lines.push(`  ${MARK[c.status]} ${c.title} [${c.id}]`);
    if (c.detail) lines.push(`      ${indent(c.detail, '      ')}`);
    if (c.status !== 'ok' && c.fix) lines.push(`      fix: ${indent(c.fix, '      ')}`);
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push(
    `  spent ${report.salesforceApiCalls} Salesforce API call${report.salesforceApiCalls === 1 ? '' : 's'} (logins are not counted) and ${report.fieldnationRequests} Field Nation request${report.fieldnationRequests === 1 ? '' : 's'} in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  lines.push(
    failed
      ? `  ✗ ${failed} check${failed === 1 ? '' : 's'} failed${warned ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}`
      : `  ✓ ready${warned ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}`,
  );
  return lines;
}

/**
 * `broker doctor`: a live, read-only preflight of each connection (or one) against Salesforce and
 * Field Nation. Exit 1 when any check fails; warnings do not fail.
 */
export async function doctorCommand(config: LoadedConfig, options: DoctorOptions, io: CliIo): Promise<number> {
  const connections = config.connections.filter((c) => !options.connection || c.id === options.connection);
  if (connections.length === 0) throw new CliError(`no connection ${options.connection} in ${config.file}`);
  const reports: PreflightReport[] = [];
  for (const c of connections) {
    const report = await runPreflight(config, c.id, { publicUrl: options.url });
    reports.push(report);
    if (!options.json) for (const line of formatReport(report)) io.out(line);
  }
  if (options.json) io.out(JSON.stringify(reports, null, 2));
  return reports.every((r) => r.ok) ? 0 : 1;
}
