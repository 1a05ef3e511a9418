const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** Checksum suffix of a 15-character id: one letter per 5-character chunk, from its uppercase bits. */
function checksum(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += CHECKSUM_ALPHABET[bits];
  }
  return suffix;
}

const ID15 = /^[a-zA-Z0-9]{15}$/;
const ID18 = /^[a-zA-Z0-9]{18}$/;

/** True for a well-formed 15- or 18-character id (18: checksum verified). */
export function isSalesforceId(value: string): boolean {
  if (ID15.test(value)) return true;
  return ID18.test(value) && checksum(value.slice(0, 15)) === value.slice(15);
}

/** Normalise a 15- or 18-character id to 18 characters; throws on anything else. */
export function toId18(value: string): string {
  if (ID15.test(value)) return value + checksum(value);
  if (ID18.test(value)) {
    if (checksum(value.slice(0, 15)) !== value.slice(15)) throw new Error(`invalid Salesforce id checksum: ${value}`);
    return value;
  }
  throw new Error(`not a Salesforce id: ${JSON.stringify(value).slice(0, 40)}`);
}

/** Build an 18-character id from a 3-character key prefix, a 3-character pod/instance part and a counter. */
export function makeId(keyPrefix: string, counter: number, pod = '000'): string {
  if (!/^[a-zA-Z0-9]{3}$/.test(keyPrefix)) throw new Error(`key prefix must be 3 characters: ${keyPrefix}`);
  const body = counter.toString(36).toUpperCase().padStart(9, '0');
  if (body.length > 9) throw new Error('id counter overflow');
  const id15 = keyPrefix + pod + body;
  return id15 + checksum(id15);
}

/** An operator's search term: Salesforce ids to 18 characters (the store keeps 18); work order ids and anything else unchanged. */
export function normaliseRecordId(input: string): string {
  const id = input.trim();
  // 15 or 18 characters is never a work order id (those are integers of up to 10 digits), even when
  // every character is a digit (the simulator's first ids are, e.g. 500000000000006).
  if (/^[a-zA-Z0-9]{15}$|^[a-zA-Z0-9]{18}$/.test(id)) {
    try {
      return toId18(id);
    } catch {
      return id;
    }
  }
  return id;
}

/**
 * Whether two ids name the same record: a 15-character id and its 18-character form are equal (the
 * suffix only encodes the case of the first 15). Empty or missing ids are never the same.
 */
export function sameSalesforceId(a: string | null | undefined, b: string | null | undefined): boolean {
  return Boolean(a && b && a.slice(0, 15) === b.slice(0, 15));
}
