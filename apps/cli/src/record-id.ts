import { toId18 } from '@broker/salesforce';

/** Salesforce ids to 18 characters (the store keeps 18); work order ids and anything else unchanged. */
export function normaliseRecordId(input: string): string {
  const id = input.trim();
  if (/^[a-zA-Z0-9]{15}$|^[a-zA-Z0-9]{18}$/.test(id) && !/^\d+$/.test(id)) {
    try {
      return toId18(id);
    } catch {
      return id;
    }
  }
  return id;
}
