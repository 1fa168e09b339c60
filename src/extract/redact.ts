/**
 * Pre-signed URLs are secrets (their query is the signature), so anything printed or stored keeps
 * only scheme, host and path. `redactText` does the same for every URL inside a free text, such as
 * an error message from a library or a server.
 */

/** `https://host:port/path`, without user info, query or fragment. */
export function redactUrl(url: string | URL): string {
  const text = String(url);
  try {
    const parsed = typeof url === 'string' ? new URL(text) : url;
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    // Not a URL we can parse: cut at the query or fragment and drop anything like user info.
    const cut = text.split(/[?#]/, 1)[0] ?? '';
    return cut.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
  }
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** `text` with every URL in it reduced to scheme, host and path. */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => redactUrl(match));
}

/**
 * Rewrites an error's message and stack in place (and those of its causes) so that no URL query
 * survives; returns the same error. For errors of libraries that embed the URL they were given.
 */
export function redactError<T>(error: T, extra: (text: string) => string = (t) => t): T {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    const clean = (text: string) => extra(redactText(text));
    const message = clean(current.message);
    if (message !== current.message) current.message = message;
    if (typeof current.stack === 'string') {
      const stack = clean(current.stack);
      if (stack !== current.stack) current.stack = stack;
    }
    current = current.cause;
  }
  return error;
}
