/** Config paths: dotted keys for lookups (`spaaza.chains.1.tokenId`), readable form for people. */

export type ConfigPath = readonly PropertyKey[];

/** The lookup key of a path: its parts joined with dots. */
export function pathKey(path: ConfigPath): string {
  return path.map(String).join('.');
}

/** The path as a reader writes it: `spaaza.chains[1].tokenId`; the root is `(top level)`. */
export function formatPath(path: ConfigPath): string {
  if (path.length === 0) return '(top level)';
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
