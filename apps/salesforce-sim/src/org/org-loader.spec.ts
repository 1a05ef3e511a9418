import { describe, expect, it } from 'vitest';
import { interpolate, loadOrgFile, DEFAULT_ORG_FILE, validateOrg } from './org-loader';

describe('org loader', () => {
  it('loads the default org', () => {
    const org = loadOrgFile(DEFAULT_ORG_FILE, {});
    expect(org.objects.map((o) => o.name)).toEqual([
      'User',
      'Account',
      'Contact',
      'Case',
      'CaseComment',
      'FeedItem',
      'FeedComment',
      'Site_Visit__c',
      'Service_Ticket__c',
      'ContentVersion',
      'ContentDocument',
      'ContentDocumentLink',
    ]);
    expect(org.outboundMessages[0]!.endpointUrl).toBe('');
    expect(org.credentials[0]).toEqual({ username: 'integration@example.com', password: 'sim-password', securityToken: 'SIMTOKEN' });
  });

  it('interpolates ${NAME} and ${NAME:-fallback}', () => {
    expect(interpolate('a=${A} b=${B:-two} c=${C:-}', { A: 'one' })).toBe('a=one b=two c=');
  });

  it('names the path of each invalid entry', () => {
    expect(() =>
      validateOrg({
        objects: [
          {
            name: 'Thing__c',
            keyPrefix: 'a0',
            fields: [
              { name: 'Kind__c', type: 'picklist' },
              { name: 'Ref__c', type: 'reference' },
            ],
          },
        ],
      }),
    ).toThrow(
      /objects\.0\.keyPrefix: must be 3 letters or digits[\s\S]*objects\.0\.fields\.0\.values: picklist needs values[\s\S]*objects\.0\.fields\.1\.referenceTo/,
    );
  });
});
