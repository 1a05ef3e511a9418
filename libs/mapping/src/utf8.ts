const encoder = new TextEncoder();

export const TRUNCATION_MARKER = '\n[… truncated]';

/**
 * Cut `text` to at most `maxBytes` UTF-8 bytes without splitting a character, appending `marker`
 * when something was cut (the marker counts towards the limit).
 */
export function truncateUtf8(text: string, maxBytes: number, marker = TRUNCATION_MARKER): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  const markerBytes = encoder.encode(marker).length;
  let end = Math.max(0, maxBytes - markerBytes);
  // Step back over continuation bytes (10xxxxxx) to the start of a character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  let cut = new TextDecoder().decode(bytes.subarray(0, end));
  // Never leave half of a surrogate pair (cannot happen with valid UTF-8, but input may be invalid UTF-16).
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut + marker;
}

export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
