import { ConfigError, loadConfig, resolveConfigPath, type ConnectionConfig } from '@broker/config';
import { connectionCatalogueLookup } from '@broker/fieldnation';
import { loadEventRulesFile, loadMapping, type NameLookup } from '@broker/mapping';
import type { CliIo } from './cli-io';

export interface ConfigValidateOptions {
  /** The name lookup of a connection (default: its Field Nation catalogues, asked only when a mapping names an entry). */
  lookupFor?: (connection: ConnectionConfig) => NameLookup;
}

/**
 * Validate the connection config the way the apps will at start-up, and compile every mapping and
 * event-rules file it names (targets against Field Nation's work order, expression reads, names
 * resolved through the connection's Field Nation catalogues when a mapping uses names), so a broken
 * deploy is caught before it is rolled out.
 */
export async function configValidateCommand(
  file: string,
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
  options: ConfigValidateOptions = {},
): Promise<number> {
  let config;
  try {
    config = loadConfig(file, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
  const problems: string[] = [];
  const compile = async (at: string, load: () => unknown) => {
    try {
      await load();
    } catch (err) {
      problems.push(`  ${at}: ${(err as Error).message.replace(/\n/g, '\n    ')}`);
    }
  };
  for (const [i, c] of config.connections.entries()) {
    const lookup = (options.lookupFor ?? ((x: ConnectionConfig) => connectionCatalogueLookup(x.fieldnation)))(c);
    for (const [object, settings] of Object.entries(c.objects)) {
      if (settings.mapping) {
        const path = resolveConfigPath(config, settings.mapping);
        await compile(`connections[${i}].objects.${object}.mapping`, () => loadMapping(path, { lookup }));
      }
      if (settings.eventRules) {
        const path = resolveConfigPath(config, settings.eventRules);
        await compile(`connections[${i}].objects.${object}.eventRules`, () => loadEventRulesFile(path, { object }));
      }
    }
    if (c.eventRules) {
      const path = resolveConfigPath(config, c.eventRules);
      await compile(`connections[${i}].eventRules`, () => loadEventRulesFile(path));
    }
  }
  if (problems.length) {
    io.err(`invalid config ${file}:\n${problems.join('\n')}`);
    return 1;
  }
  io.out(`config ${file} is valid: ${config.connections.length} connection(s)`);
  for (const c of config.connections) {
    const own = Object.entries(c.objects)
      .filter(([, o]) => o.eventRules)
      .map(([name]) => name);
    io.out(
      `  ${c.id}: objects ${Object.keys(c.objects).join(', ')}${c.eventRules ? '; event rules' : ''}${own.length ? `; own event rules: ${own.join(', ')}` : ''}`,
    );
  }
  return 0;
}
