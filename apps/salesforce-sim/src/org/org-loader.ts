import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { orgSchema, type OrgConfig, type OrgDefinition } from './org.schema';

export const DEFAULT_ORG_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../org/default-org.yaml');

/**
 * `${NAME}` and `${NAME:-fallback}` are replaced before YAML parsing, so one org file can point its
 * Outbound Messages at whatever listener a test or the demo started.
 */
export function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
    const value = vars[name];
    return value !== undefined && value !== '' ? value : (fallback ?? '');
  });
}

export class OrgFileError extends Error {
  constructor(source: string, issues: string[]) {
    super(`invalid org definition ${source}:\n  ${issues.join('\n  ')}`);
    this.name = 'OrgFileError';
  }
}

export function validateOrg(input: unknown, source = '(inline)'): OrgConfig {
  const result = orgSchema.safeParse(input);
  if (!result.success) {
    throw new OrgFileError(
      source,
      result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
    );
  }
  return result.data;
}

export function loadOrgFile(file: string, vars: Record<string, string | undefined> = process.env): OrgConfig {
  const raw = readFileSync(file, 'utf8');
  let doc: unknown;
  try {
    doc = parseYaml(interpolate(raw, vars));
  } catch (err) {
    throw new OrgFileError(file, [(err as Error).message]);
  }
  const config = validateOrg(doc, file);
  for (const rel of config.metadataFiles) {
    const at = path.resolve(path.dirname(file), rel);
    let content: string;
    try {
      content = readFileSync(at, 'utf8');
    } catch (err) {
      throw new OrgFileError(file, [`metadataFiles: ${(err as Error).message}`]);
    }
    config.metadata.push({ path: rel, content: interpolate(content, vars) });
  }
  return config;
}

export function resolveOrg(options: { org?: OrgDefinition; orgFile?: string; vars?: Record<string, string | undefined> }): OrgConfig {
  if (options.org) return validateOrg(options.org);
  return loadOrgFile(options.orgFile ?? DEFAULT_ORG_FILE, options.vars ?? process.env);
}
