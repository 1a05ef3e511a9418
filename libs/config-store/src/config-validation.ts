// One validation for a configuration, wherever it comes from: the file loader's schema checks with
// `${ENV}` resolved, every mapping and event-rules file compiled, and (for what the database stores)
// no secret written as text.
import {
  bundleKey,
  ConfigError,
  fileReferences,
  literalSecrets,
  parseConfigBundle,
  parseRawConfig,
  readConfigFile,
  secretsInText,
  type ConfigBundle,
  type LoadedConfig,
} from '@broker/config';
import {
  compileEventRules,
  compileMapping,
  MappingError,
  compileObjectEventRules,
  type CompiledEventRules,
  type CompiledMapping,
  type NameCatalogues,
} from '@broker/mapping';

/** Where a config's file is named in messages: the stored version's name and the path. */
const fileLabel = (config: LoadedConfig, file: string) => (config.files ? `${config.file.split('/')[1]}:${file}` : file);

/** The mappings of a config, compiled, by `${connectionId}/${sObject}`; a broken one throws MappingError naming the file. */
export function compileConfigMappings(
  config: LoadedConfig,
  catalogues: ReadonlyMap<string, NameCatalogues> = new Map(),
): Map<string, CompiledMapping> {
  return new Map(
    config.connections.flatMap((c) =>
      Object.entries(c.objects).flatMap(([object, oc]) =>
        oc.mapping
          ? [
              [
                `${c.id}/${object}`,
                compileMapping(readText(config, oc.mapping), { file: fileLabel(config, oc.mapping), catalogues: catalogues.get(c.id) }),
              ] as const,
            ]
          : [],
      ),
    ),
  );
}

/** The event rules of a config, compiled: the connection's by its id, an object's own by `${connectionId}/${sObject}`. */
export function compileConfigEventRules(config: LoadedConfig): Map<string, CompiledEventRules> {
  return new Map(
    config.connections.flatMap((c) => [
      ...(c.eventRules
        ? [[c.id, compileEventRules(readText(config, c.eventRules), { file: fileLabel(config, c.eventRules) })] as const]
        : []),
      // An object's own rules, chosen by the correlated record's object (the mapper's fn-event.processor.ts).
      ...Object.entries(c.objects).flatMap(([object, o]) =>
        o.eventRules
          ? [
              [
                `${c.id}/${object}`,
                compileObjectEventRules(readText(config, o.eventRules), { file: fileLabel(config, o.eventRules), object }),
              ] as const,
            ]
          : [],
      ),
    ]),
  );
}

function readText(config: LoadedConfig, file: string): string {
  try {
    return readConfigFile(config, file);
  } catch (err) {
    throw new MappingError(
      [{ target: '(file)', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }],
      fileLabel(config, file),
    );
  }
}

export interface ValidateOptions {
  /** Resolves `${ENV}` (default: this process's environment; the apps that load the version need the same). */
  env?: NodeJS.ProcessEnv;
  /**
   * `allow`: a variable this process does not have is not an error, and the checks of the settings it
   * fills are skipped (an operator importing from a machine without the secrets). Default `refuse`.
   */
  unsetEnv?: 'refuse' | 'allow';
  /** Named in messages. */
  name?: string;
  /**
   * The Field Nation catalogues the mappings name, by connection id (libs/runtime's mappingCatalogues
   * fetches them): names (`typeOfWork: "Point of Sale"`) are resolved against them. This validation
   * calls nobody, so without them a mapping that names an entry is refused.
   */
  catalogues?: ReadonlyMap<string, NameCatalogues>;
}

export interface Validated {
  /** The configuration as the apps will load it (absent when unresolved variables kept the schema from running). */
  config?: LoadedConfig;
  /** Variables the validation could not resolve (with unsetEnv `allow`). */
  unsetVariables: string[];
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g;

/** Environment variables the main YAML references without a default that `env` does not set. */
function unsetVariables(main: string, env: NodeJS.ProcessEnv): string[] {
  const names = new Set<string>();
  for (const m of main.matchAll(REFERENCE)) if (!m[0].includes(':-') && !env[m[1]!]) names.add(m[1]!);
  return [...names].sort();
}

/** The id of the connection a file reference (`connections[2].objects.Case.mapping`) sits in. */
function connectionIdAt(raw: unknown, at: string): string | undefined {
  const index = /^connections\[(\d+)\]/.exec(at)?.[1];
  const connections = (raw as { connections?: unknown } | null)?.connections;
  const id = index !== undefined && Array.isArray(connections) ? (connections[Number(index)] as { id?: unknown } | null)?.id : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** Paths (as ConfigError names them) of the strings that reference one of `names`. */
function pathsReferencing(raw: unknown, names: Set<string>, at = ''): string[] {
  if (typeof raw === 'string') return [...raw.matchAll(REFERENCE)].some((m) => names.has(m[1]!)) ? [at || '(root)'] : [];
  if (Array.isArray(raw)) return raw.flatMap((v, i) => pathsReferencing(v, names, `${at}[${i}]`));
  if (raw && typeof raw === 'object') return Object.entries(raw).flatMap(([k, v]) => pathsReferencing(v, names, at ? `${at}.${k}` : k));
  return [];
}

/**
 * Validate a configuration to be stored: no secret as text, the schema (`${ENV}` resolved), every
 * named file present and compiling, and no resolved secret anywhere in the text. Throws ConfigError
 * listing every problem.
 */
export function validateConfigBundle(bundle: ConfigBundle, options: ValidateOptions = {}): Validated {
  const name = options.name ?? 'new configuration';
  const env = options.env ?? process.env;
  const raw = parseRawConfig(bundle.main, name);
  const issues: ConfigError['issues'] = literalSecrets(raw);
  const unset = options.unsetEnv === 'allow' ? unsetVariables(bundle.main, env) : [];
  // A placeholder that no schema accepts by accident; the issues at the settings it fills are dropped.
  const placeholders = Object.fromEntries(unset.map((n) => [n, `\u0000unset-${n}`]));
  const skipped = pathsReferencing(raw, new Set(unset));
  const skip = (path: string) => skipped.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
  let config: LoadedConfig | undefined;
  try {
    config = parseConfigBundle(bundle, name, { ...env, ...placeholders });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues.filter((i) => !skip(i.path)));
  }
  // Every named file compiles (read from the bundle: the parsed config may be missing, above).
  for (const ref of fileReferences(raw)) {
    const key = bundleKey(ref.file);
    const text = key === undefined ? undefined : bundle.files[key];
    if (text === undefined) continue; // parseConfigBundle named it
    try {
      if (ref.at.endsWith('.eventRules')) compileEventRules(text, { file: key });
      else compileMapping(text, { file: key, catalogues: options.catalogues?.get(connectionIdAt(raw, ref.at) ?? '') });
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      issues.push(...err.issues.map((i) => ({ path: `${key}: ${i.target}`, message: i.message })));
    }
  }
  if (config) issues.push(...secretsInText(bundle, config));
  if (issues.length) throw new ConfigError(name, issues);
  return { config, unsetVariables: unset };
}
