import { parse as parseYaml } from 'yaml';
import { chatterObjects, messageChannelOf, readConfigFile, type ConnectionConfig, type LoadedConfig } from '@broker/config';
import { EventRulesFileSchema } from '@broker/mapping';
import { fail, ok, warn, type CheckResult } from './preflight.types';

/** What one object's event rules write: its own file's, or the connection's for an object without one. */
export interface ObjectRuleWrites {
  object: string;
  fields: string[];
  comments: boolean;
  /** The file the rules come from (for messages). */
  source: string;
}

function readRules(config: LoadedConfig, file: string): { object: string; fields: string[]; comments: boolean } {
  const parsed = EventRulesFileSchema.parse(parseYaml(readConfigFile(config, file)));
  const fields = new Set<string>();
  for (const rule of parsed.rules) for (const f of Object.keys(rule.fields ?? {})) fields.add(f);
  return { object: parsed.object, fields: [...fields], comments: parsed.rules.some((r) => r.comment) };
}

/**
 * The fields and comments the event rules write, per object they apply to: an object's own rules
 * file applies to it; the connection's file applies to the object it names and to every other
 * mapped object without its own (the mapper chooses the rules by the correlated record's object).
 */
export function eventRuleWrites(config: LoadedConfig, connection: ConnectionConfig): ObjectRuleWrites[] {
  const out: ObjectRuleWrites[] = [];
  const withOwn = new Set<string>();
  for (const [object, o] of Object.entries(connection.objects)) {
    if (!o.eventRules) continue;
    withOwn.add(object);
    const r = readRules(config, o.eventRules);
    out.push({ object, fields: r.fields, comments: r.comments, source: o.eventRules });
  }
  if (connection.eventRules) {
    const r = readRules(config, connection.eventRules);
    const objects = new Set([
      r.object,
      ...Object.entries(connection.objects)
        .filter(([, o]) => o.mapping)
        .map(([name]) => name),
    ]);
    for (const object of objects) {
      if (!withOwn.has(object)) out.push({ object, fields: r.fields, comments: r.comments, source: connection.eventRules });
    }
  }
  return out;
}

interface DescribeField {
  name: string;
  createable?: boolean;
}
export interface MessageDescribe {
  name: string;
  createable?: boolean;
  feedEnabled?: boolean;
  fields: DescribeField[];
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Chatter messages can be written and read: each Chatter object's feed is tracked (describe
 * `feedEnabled`), FeedItem (and FeedComment, for replies) can be created with the configured text
 * fields. Comment rules of an object with no message channel are a warning: their text has nowhere to go.
 */
export async function messageChannelChecks(
  connection: ConnectionConfig,
  writes: ObjectRuleWrites[],
  describe: (name: string) => Promise<MessageDescribe>,
  problemOf: (name: string, err: unknown) => string,
): Promise<CheckResult[]> {
  const checks: CheckResult[] = [];
  for (const w of writes) {
    if (w.comments && !messageChannelOf(connection, w.object)) {
      checks.push(
        warn(
          `salesforce.messages.${w.object}`,
          `${w.object} messages have a channel`,
          `${w.source} adds comments, but ${w.object} is not a Case and has no messageChannel: those comments are dropped`,
          `set objects.${w.object}.messageChannel: chatter (its feed must be tracked), or remove the comments from ${w.source}`,
        ),
      );
    }
  }
  const chatter = chatterObjects(connection);
  if (chatter.length === 0) return checks;

  for (const c of chatter) {
    const title = `${c.object} feed is tracked (Chatter)`;
    try {
      const d = await describe(c.object);
      if (d.feedEnabled) checks.push(ok(`salesforce.chatter.${c.object}`, title, `${c.object} is feed-enabled`));
      else {
        checks.push(
          fail(
            `salesforce.chatter.${c.object}`,
            title,
            `describe ${c.object}: feedEnabled is false, so no Chatter post can be made on its records`,
            `turn feed tracking on for ${c.object} (Setup → Feed Tracking), or use another messageChannel`,
          ),
        );
      }
    } catch (err) {
      checks.push(fail(`salesforce.chatter.${c.object}`, title, problemOf(c.object, err), 'check the object name and its permissions'));
    }
  }

  const needs: { object: 'FeedItem' | 'FeedComment'; fields: Set<string> }[] = [
    { object: 'FeedItem', fields: new Set(['ParentId', ...chatter.map((c) => c.bodyField)]) },
  ];
  if (chatter.some((c) => c.replies) || writes.some((w) => w.comments && chatter.some((c) => c.object === w.object)))
    needs.push({ object: 'FeedComment', fields: new Set(['FeedItemId', ...chatter.map((c) => c.commentBodyField)]) });
  for (const need of needs) {
    const title = `Chatter ${need.object === 'FeedItem' ? 'posts' : 'replies'} can be created and read`;
    try {
      const d = await describe(need.object);
      const problems = [...need.fields].flatMap((name) => {
        const f = d.fields.find((x) => same(x.name, name));
        if (!f) return [`${name}: no such field`];
        return f.createable ? [] : [`${name}: not createable`];
      });
      if (d.createable === false) problems.unshift(`${need.object}: not createable`);
      if (problems.length === 0)
        checks.push(ok(`salesforce.chatter.${need.object}`, title, `${need.object}: ${[...need.fields].join(', ')}`));
      else {
        checks.push(
          fail(
            `salesforce.chatter.${need.object}`,
            title,
            problems.join('; '),
            `check objects.<name>.chatter.bodyField / commentBodyField (a text field of ${need.object}), and that the integration user may post to Chatter`,
          ),
        );
      }
    } catch (err) {
      checks.push(
        fail(
          `salesforce.chatter.${need.object}`,
          title,
          problemOf(need.object, err),
          'Chatter must be on in the org (Setup → Chatter Settings)',
        ),
      );
    }
  }
  return checks;
}
