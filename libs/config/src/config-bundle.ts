// A configuration as one value: the main YAML and the files it names (mappings, event rules), as text.
// Files on disk (BROKER_CONFIG) and a version stored in PostgreSQL (BROKER_CONFIG_SOURCE=database)
// both become a bundle, so both are validated by the same loader and hashed the same way.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, parseConfig, type LoadedConfig } from './config-loader';

export interface ConfigBundle {
  /** The main YAML as written: `${ENV}` references unresolved. */
  main: string;
  /** Every file the main YAML names, by the relative path it names it with (posix separators). */
  files: Record<string, string>;
}

/** A file the config names, and where (`connections[0].objects.Case.mapping`). */
export interface FileReference {
  at: string;
  file: string;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * The files a config names, read from its parsed (not interpolated) YAML: each object's `mapping`
 * and each connection's `eventRules`. A key that names another file belongs here, so that a stored
 * version carries it.
 */
export function fileReferences(raw: unknown): FileReference[] {
  const refs: FileReference[] = [];
  const connections = asRecord(raw)?.connections;
  if (!Array.isArray(connections)) return refs;
  connections.forEach((c, i) => {
    const connection = asRecord(c);
    for (const [name, o] of Object.entries(asRecord(connection?.objects) ?? {})) {
      const mapping = asRecord(o)?.mapping;
      if (typeof mapping === 'string') refs.push({ at: `connections[${i}].objects.${name}.mapping`, file: mapping });
      const rules = asRecord(o)?.eventRules;
      if (typeof rules === 'string') refs.push({ at: `connections[${i}].objects.${name}.eventRules`, file: rules });
    }
    if (typeof connection?.eventRules === 'string') refs.push({ at: `connections[${i}].eventRules`, file: connection.eventRules });
  });
  return refs;
}

/**
 * The key a referenced file is stored under: its path relative to the config's folder, normalised.
 * Undefined for a path a stored version cannot carry (absolute, `${ENV}`, or outside the folder).
 */
export function bundleKey(file: string): string | undefined {
  if (file.includes('${') || path.posix.isAbsolute(file) || path.win32.isAbsolute(file)) return undefined;
  const key = path.posix.normalize(file.replace(/\\/g, '/'));
  if (key === '.' || key.startsWith('../') || key === '..') return undefined;
  return key;
}

function parseRaw(main: string, name: string): unknown {
  const doc = parseDocument(main);
  if (doc.errors.length) {
    throw new ConfigError(
      name,
      doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}`, message: e.message.split('\n')[0]! })),
    );
  }
  return doc.toJS();
}

/** The main YAML parsed without interpolation (`${ENV}` kept as text): what a stored version holds. */
export function parseRawConfig(main: string, name = 'config'): unknown {
  return parseRaw(main, name);
}

/**
 * Read a config file and the files it names into a bundle. Every named file must sit in the config's
 * folder or below it, by a relative path: that is how a stored version can carry it.
 */
export function readConfigBundle(file: string): ConfigBundle {
  let main: string;
  try {
    main = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: (err as Error).message }]);
  }
  const dir = path.dirname(path.resolve(file));
  const files: Record<string, string> = {};
  const issues: ConfigError['issues'] = [];
  for (const ref of fileReferences(parseRaw(main, file))) {
    const key = bundleKey(ref.file);
    if (!key) {
      issues.push({
        path: ref.at,
        message: `"${ref.file}": a stored configuration carries the files it names by a path relative to the config file, inside its folder (no absolute path, no .., no \${ENV})`,
      });
      continue;
    }
    try {
      files[key] = readFileSync(path.join(dir, key), 'utf8');
    } catch (err) {
      issues.push({ path: ref.at, message: `cannot read ${key}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    }
  }
  if (issues.length) throw new ConfigError(file, issues);
  return { main, files };
}

/** SHA-256 (hex) of a bundle's content: the same text, the same hash, wherever it is stored. */
export function hashConfigBundle(bundle: ConfigBundle): string {
  const hash = createHash('sha256').update('main\u0000').update(bundle.main);
  for (const key of Object.keys(bundle.files).sort()) hash.update(`\u0000file\u0000${key}\u0000`).update(bundle.files[key]!);
  return hash.digest('hex');
}

/**
 * Validate a bundle with the file loader's validation (`${ENV}` resolved from `env`), and check that
 * it carries exactly the files it names. `name` stands for the file in messages ("config version 7").
 * The result reads its files from the bundle (readConfigFile), never from disk.
 */
export function parseConfigBundle(bundle: ConfigBundle, name: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const issues: ConfigError['issues'] = [];
  const named = new Set<string>();
  for (const ref of fileReferences(parseRaw(bundle.main, name))) {
    const key = bundleKey(ref.file);
    if (!key)
      issues.push({ path: ref.at, message: `"${ref.file}": name the file by a path relative to the config (no absolute path, no ..)` });
    else if (bundle.files[key] === undefined) issues.push({ path: ref.at, message: `the file ${key} is not part of this configuration` });
    else named.add(key);
  }
  for (const key of Object.keys(bundle.files)) {
    if (!named.has(key)) issues.push({ path: `(files) ${key}`, message: 'not named by the configuration: remove it' });
  }
  if (issues.length) throw new ConfigError(name, issues);
  // A virtual folder: messages name the version and the file, and nothing resolves to a real path.
  const config = parseConfig(bundle.main, path.posix.join(`/${name.replace(/[^A-Za-z0-9._-]+/g, '-')}`, 'broker.yaml'), env);
  return { ...config, files: { ...bundle.files } };
}

/** The text of a file the config names: from its bundle when it has one, else from disk beside the config file. */
export function readConfigFile(config: LoadedConfig, file: string): string {
  if (config.files) {
    const key = bundleKey(file);
    const text = key === undefined ? undefined : config.files[key];
    if (text === undefined) throw new Error(`${file} is not part of the configuration`);
    return text;
  }
  return readFileSync(path.resolve(config.dir, file), 'utf8');
}

/**
 * What a file-mode deployment's timeline rows record as their configuration: `file:` and the first 12
 * hex digits of the hash of the config file and the files it names (unreadable ones count as empty:
 * loading them fails on its own).
 */
export function fileConfigLabel(file: string): string {
  const main = readFileSync(file, 'utf8');
  const dir = path.dirname(path.resolve(file));
  const files: Record<string, string> = {};
  for (const ref of fileReferences(parseRaw(main, file))) {
    try {
      files[ref.file] = readFileSync(path.resolve(dir, ref.file), 'utf8');
    } catch {
      files[ref.file] = '';
    }
  }
  return `file:${hashConfigBundle({ main, files }).slice(0, 12)}`;
}
