// A request as Tomcat and Spring read it before the controller runs: the target's path segments and query, a path id
// converted to a Long, and whether an Origin is the server's own.

/** A request target as Tomcat hands it to Spring: decoded, `;parameters` dropped, `//`, `.` and `..` resolved. */
export function parseTarget(
  url: string,
): { rawPath: string; query: string | undefined; segments: string[] } | undefined {
  let target = url;
  if (!target.startsWith('/')) {
    try {
      const absolute = new URL(target);
      target = absolute.pathname + absolute.search;
    } catch {
      return undefined;
    }
  }
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? undefined : target.slice(q + 1);
  const segments: string[] = [];
  const parts = rawPath.split('/').slice(1);
  for (const [i, part] of parts.entries()) {
    let segment: string;
    try {
      segment = decodeURIComponent(part.split(';')[0]!);
    } catch {
      return undefined;
    }
    if (/[/\\\0]/.test(segment)) return undefined; // Tomcat refuses encoded slashes and NUL.
    if (segment === '' && i < parts.length - 1) continue;
    if (segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) return undefined;
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  // Tomcat reads a path ending in "/." or "/.." as ending in a slash.
  if (/^(\.|\.\.)$/.test(parts.at(-1) ?? '')) segments.push('');
  return { rawPath, query, segments };
}

/** Java's Character.isWhitespace, which Spring's StringUtils.trimAllWhitespace strips anywhere in a path id. */
const javaWhitespace = (c: number): boolean =>
  (c >= 0x09 && c <= 0x0d) ||
  (c >= 0x1c && c <= 0x20) ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a && c !== 0x2007) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x205f ||
  c === 0x3000;

/** A path id as Spring converts it to a Long (NumberUtils.parseNumber), or undefined (a 500). */
export function pathId(text: string): bigint | undefined {
  const s = [...text].filter((ch) => !javaWhitespace(ch.charCodeAt(0))).join('');
  const hex = /^(-?)(?:0[xX]|#)([0-9a-fA-F]+)$/.exec(s);
  let n: bigint;
  if (hex) n = BigInt(`0x${hex[2]}`) * (hex[1] ? -1n : 1n);
  else if (/^[+-]?\d+$/.test(s)) n = BigInt(s);
  else return undefined;
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

export function sameOrigin(origin: string, host: string): boolean {
  try {
    const o = new URL(origin);
    const h = new URL(`http://${host}`);
    return o.protocol === 'http:' && o.hostname === h.hostname && (o.port || '80') === (h.port || '80');
  } catch {
    return false;
  }
}
