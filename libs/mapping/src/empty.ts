/**
 * Whitespace as String.prototype.trim sees it (plus the other C0 controls), so "empty" means the same
 * thing as a `trim` step producing "". Characters from U+0080 on are rare in a value's first position,
 * which is why the compiled fast paths (entry-compiler.ts) only look for printable ASCII there.
 */
const isBlank = (c: number): boolean =>
  c <= 32 ||
  (c >= 0x80 &&
    (c === 0xa0 ||
      c === 0x1680 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x202f ||
      c === 0x205f ||
      c === 0x3000 ||
      c === 0xfeff));

export const isEmpty = (v: unknown): boolean => {
  if (typeof v === 'string') {
    // Whitespace-only is empty; scanning avoids the copy trim() makes.
    for (let i = 0; i < v.length; i++) if (!isBlank(v.charCodeAt(i))) return false;
    return true;
  }
  if (Array.isArray(v)) return v.length === 0;
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const _ in v as object) return false;
    return true;
  }
  return false;
};
