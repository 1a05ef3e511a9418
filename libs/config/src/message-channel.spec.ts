import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-loader';
import { parseConfig } from './config-loader';
import { chatterObjects, messageChannelOf } from './message-channel';

const yaml = (objects: string, extra = '') => `connections:
  - id: demo
    salesforce:
      instance: https://example.my.salesforce.com
      organizationId: 00D000000000001EAA
      pathToken: 0123456789abcdef0123456789abcdef
      auth: { flow: client-credentials, clientId: a, clientSecret: b }
    fieldnation:
      auth: { clientId: c, clientSecret: s, username: u, password: p }
      webhookSecret: 2c9e7f1a-4b6d-4e8f-a1b3-c5d7e9f1a3b5
    objects: ${objects}
${extra}`;
const parse = (objects: string, extra = '') => parseConfig(yaml(objects, extra), '/tmp/c.yaml', {}).connections[0]!;
const issues = (objects: string, extra = '') => {
  try {
    parse(objects, extra);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
};

describe('message channels and per-object event rules', () => {
  it('a Case defaults to CaseComment; a Chatter object reports its text fields with defaults; others have none', () => {
    const c = parse(
      '{ Case: { mapping: c.yaml }, T__c: { mapping: t.yaml, messageChannel: chatter, eventRules: t-events.yaml }, V__c: { mapping: v.yaml } }',
    );
    expect(messageChannelOf(c, 'Case')).toBe('CaseComment');
    expect(messageChannelOf(c, 'T__c')).toBe('chatter');
    expect(messageChannelOf(c, 'V__c')).toBeUndefined();
    expect(chatterObjects(c)).toEqual([{ object: 'T__c', bodyField: 'Body', commentBodyField: 'CommentBody', replies: true }]);
    expect(c.objects.T__c!.eventRules).toBe('t-events.yaml');
    expect(c.chatterSweep).toMatchObject({ every: '* * * * *', maxApiCalls: 4, overlapSeconds: 300, parentIdsPerQuery: 300 });
    const case2 = parse('{ Case: { mapping: c.yaml, messageChannel: chatter, chatter: { bodyField: Title, replies: "false" } } }');
    expect(chatterObjects(case2)[0]).toMatchObject({ object: 'Case', bodyField: 'Title', replies: false });
  });

  it('refuses what cannot work, naming the path', () => {
    expect(issues('{ T__c: { mapping: t.yaml, messageChannel: CaseComment } }')).toMatch(
      /objects\.T__c\.messageChannel.*CaseComments belong to Cases only/s,
    );
    expect(issues('{ T__c: { mapping: t.yaml, messageChannel: email } }')).toMatch(/objects\.T__c\.messageChannel/);
    expect(issues('{ T__c: { mapping: t.yaml, chatter: { bodyField: Body } } }')).toMatch(
      /objects\.T__c\.chatter.*need messageChannel: chatter/s,
    );
    expect(issues('{ T__c: { mapping: t.yaml, messageChannel: chatter, chatter: { bodyField: "Body; DELETE" } } }')).toMatch(/bodyField/);
    expect(issues('{ CaseComment: { messages: true, eventRules: x.yaml } }')).toMatch(/objects\.CaseComment\.eventRules/);
    expect(issues('{ Case: { mapping: c.yaml } }', '    chatterSweep: { parentIdsPerQuery: 5000 }\n')).toMatch(
      /chatterSweep\.parentIdsPerQuery/,
    );
    expect(issues('{ Case: { mapping: c.yaml } }', '    chatterSweep: { everyy: "* * * * *" }\n')).toMatch(/everyy/);
  });
});
