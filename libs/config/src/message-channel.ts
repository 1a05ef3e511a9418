import { CHATTER_DEFAULTS, type ConnectionConfig } from './config.schema';

/** Where the messages of an object's records go: its `messageChannel`, CaseComment for a Case, else nowhere. */
export function messageChannelOf(connection: ConnectionConfig, sfObject: string): 'CaseComment' | 'chatter' | undefined {
  const configured = connection.objects[sfObject]?.messageChannel;
  if (configured) return configured;
  return sfObject === 'Case' ? 'CaseComment' : undefined;
}

/** The connection's objects whose messages go through Chatter, with their text fields. */
export function chatterObjects(
  connection: ConnectionConfig,
): { object: string; bodyField: string; commentBodyField: string; replies: boolean }[] {
  return Object.entries(connection.objects)
    .filter(([, o]) => o.messageChannel === 'chatter')
    .map(([object, o]) => ({ object, ...CHATTER_DEFAULTS, ...o.chatter }));
}
