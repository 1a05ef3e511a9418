import { readConfigFile, type ConnectionConfig, type LoadedConfig } from '@broker/config';
import { fetchCatalogues, mappingNameKinds, type CatalogueKind, type NameCatalogues, type NameLookup } from '@broker/mapping';

/** Field Nation could not list a catalogue the mappings name: transient (not a configuration error), so the app exits 1 and is restarted. */
export class CatalogueUnavailableError extends Error {
  override readonly name = 'CatalogueUnavailableError';
}

/**
 * The Field Nation catalogues each connection's mappings name (`typeOfWork: "Point of Sale"`),
 * fetched once at start-up through `lookupFor` (libs/fieldnation's cached lookup), so the mappings
 * compile synchronously afterwards. A connection whose mappings use no names is not asked anything.
 */
export async function mappingCatalogues(
  config: LoadedConfig,
  lookupFor: ((connection: ConnectionConfig) => NameLookup) | undefined,
): Promise<Map<string, NameCatalogues>> {
  const out = new Map<string, NameCatalogues>();
  if (!lookupFor) return out;
  for (const c of config.connections) {
    const kinds = new Set<CatalogueKind>();
    for (const oc of Object.values(c.objects)) {
      if (!oc.mapping) continue;
      let text: string;
      try {
        text = readConfigFile(config, oc.mapping);
      } catch {
        continue; // loading the mapping reports it
      }
      for (const k of mappingNameKinds(text)) kinds.add(k);
    }
    if (kinds.size === 0) continue;
    const fetched = await fetchCatalogues([...kinds], lookupFor(c));
    if (fetched.issues.length)
      throw new CatalogueUnavailableError(`connection ${c.id}: ${fetched.issues.map((i) => i.message).join('; ')}`);
    out.set(c.id, fetched.catalogues);
  }
  return out;
}
