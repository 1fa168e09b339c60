/** Text as PostgreSQL can store it: the load's rejects and the reference staging both need it. */

/** PostgreSQL text cannot hold NUL: a rejected record keeps it visible as the six characters \u0000. */
export function storable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}
