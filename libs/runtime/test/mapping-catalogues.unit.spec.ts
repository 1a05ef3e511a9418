import { beforeEach, describe, expect, it } from 'vitest';
import { catalogueCache, connectionCatalogueLookup } from '@broker/fieldnation';
import { loadMappingFile } from '@broker/mapping';
import { createLogger } from '@broker/runtime';
import { loadDemoConfig, serversForFile } from '@broker/testing';
import { startFieldNationSim } from '../../../apps/fieldnation-sim/src/index';
import { CatalogueUnavailableError, mappingCatalogues } from '../src/mapping-catalogues';

// What runWorkerApp does before the apps compile their mappings, against the simulator over HTTP.
const sims = serversForFile({
  fn: () => startFieldNationSim({ port: 0, logger: createLogger({ service: 'sim', level: 'silent' }), rateLimit: false }),
});
const SF_URL = 'http://127.0.0.1:9';
const lookupFor = (c: { fieldnation: Parameters<typeof connectionCatalogueLookup>[0] }) => connectionCatalogueLookup(c.fieldnation);

beforeEach(() => {
  sims.fn.reset();
  catalogueCache.clear();
});

describe('mapping names at start-up', () => {
  it('fetches the catalogues a mapping names, once, and the mapping compiles with the ids', async () => {
    const config = loadDemoConfig(
      { salesforceUrl: SF_URL, fieldnationUrl: sims.fn.url },
      { editMapping: (t) => t.replace('fallback: { value: 27 }', 'fallback: { value: { typeOfWork: "Desktop Support" } }') },
    );
    const catalogues = await mappingCatalogues(config, lookupFor);
    expect(Object.keys(catalogues.get('demo')!)).toEqual(['typesOfWork']);
    await mappingCatalogues(config, lookupFor);
    expect(sims.fn.counters().routes['GET /api/rest/v2/types-of-work']?.calls).toBe(1); // the second start-up hit the cache
    const mapping = loadMappingFile(config.connections[0]!.objects.Case!.mapping!, { catalogues: catalogues.get('demo') });
    const payload = mapping.mapSync!({
      Id: '500000000000001AAA',
      Subject: 'S',
      CaseNumber: '1',
      Work_Type__c: 'Unknown',
      Preferred_Service_Date__c: '2026-07-01T09:00:00Z',
      Account: { BillingCity: 'C', BillingStreet: 'S' },
    });
    expect(payload.types_of_work).toEqual([{ id: 27, isPrimary: true }]);
  });

  it('asks Field Nation nothing when no mapping uses names; an unreachable catalogue stops the start-up', async () => {
    const plain = loadDemoConfig({ salesforceUrl: SF_URL, fieldnationUrl: sims.fn.url });
    expect((await mappingCatalogues(plain, lookupFor)).size).toBe(0);
    expect(sims.fn.counters().total).toBe(0);
    const named = loadDemoConfig(
      { salesforceUrl: SF_URL, fieldnationUrl: sims.fn.url },
      { editMapping: (t) => t.replace('"607": {', '"Salesforce Case Number": {') },
    );
    sims.fn.injectFault({ path: '/custom-fields', status: 503, count: 10 });
    await expect(mappingCatalogues(named, lookupFor)).rejects.toBeInstanceOf(CatalogueUnavailableError);
  });
});
