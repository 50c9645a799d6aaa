// Jackson 2.15's JSON reading and writing as the SDW2023 API uses it: the first value of a body is read and the rest
// ignored, anything refused throws UnreadableBody (which the API answers with a 500), BigDecimals written as they are.

/** A body Jackson (or the controller's DTO mapping) refuses; the original answers `500 Unexpected server error.` */
export class UnreadableBody extends Error {}

export type JsonNode =
  | { kind: 'object'; fields: Map<string, JsonNode> }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string; integral: boolean }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

/** Jackson 2.15's stream read constraints. */
const maxNestingDepth = 1000;
const maxNumberLength = 1000;

const isJsonSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const escapes: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Reads the first JSON value of `text` as Jackson does with its default features: strict JSON (no comments, single
 * quotes, trailing commas, leading zeros or NaN), a byte-order mark skipped, the last of duplicate names kept, and
 * whatever follows the first value ignored (FAIL_ON_TRAILING_TOKENS is off).
 */
export function readJsonValue(text: string): JsonNode {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (what: string): never => {
    throw new UnreadableBody(`${what} at offset ${i}`);
  };
  const skipSpace = (): void => {
    while (i < text.length && isJsonSpace(text.charCodeAt(i))) i += 1;
  };
  const readString = (): string => {
    i += 1; // the opening quote
    let out = '';
    for (;;) {
      let end = i;
      while (end < text.length) {
        const c = text.charCodeAt(end);
        if (c === 0x22 || c === 0x5c || c < 0x20) break;
        end += 1;
      }
      out += text.slice(i, end);
      i = end;
      if (i >= text.length) fail('unterminated string');
      const c = text[i]!;
      if (c === '"') {
        i += 1;
        return out;
      }
      if (c !== '\\') fail('unescaped control character in a string');
      const e = text[i + 1];
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else if (e !== undefined && e in escapes) {
        out += escapes[e];
        i += 2;
      } else {
        fail('unrecognized escape');
      }
    }
  };
  const readNumber = (): JsonNode => {
    const match = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    match.lastIndex = i;
    const found = match.exec(text);
    if (!found) fail('bad number');
    const numberText = found![0];
    const next = text[i + numberText.length];
    // "01", "1." and "1e" are errors in Jackson, not a number followed by something else.
    if (next !== undefined && /[0-9.eE]/.test(next)) fail('bad number');
    if (numberText.replace('-', '').length > maxNumberLength) fail('number too long');
    i += numberText.length;
    return { kind: 'number', text: numberText, integral: found![1] === undefined && found![2] === undefined };
  };
  const readLiteral = (word: string, node: JsonNode): JsonNode => {
    if (!text.startsWith(word, i)) fail('unrecognized token');
    i += word.length;
    // Jackson reads "truex" as one unrecognized token.
    if (/[\p{L}\p{N}_$]/u.test(text[i] ?? '')) fail('unrecognized token');
    return node;
  };
  const readValue = (depth: number): JsonNode => {
    skipSpace();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth + 1 > maxNestingDepth) fail('nesting too deep');
      i += 1;
      skipSpace();
      const close = c === '{' ? '}' : ']';
      const fields = new Map<string, JsonNode>();
      const items: JsonNode[] = [];
      if (text[i] !== close) {
        for (;;) {
          if (c === '{') {
            skipSpace();
            if (text[i] !== '"') fail('expected a field name');
            const name = readString();
            skipSpace();
            if (text[i] !== ':') fail("expected ':'");
            i += 1;
            fields.set(name, readValue(depth + 1));
          } else {
            items.push(readValue(depth + 1));
          }
          skipSpace();
          if (text[i] === ',') {
            i += 1;
            continue;
          }
          if (text[i] === close) break;
          fail(`expected ',' or '${close}'`);
        }
      }
      i += 1;
      return c === '{' ? { kind: 'object', fields } : { kind: 'array', items };
    }
    if (c === '"') return { kind: 'string', value: readString() };
    if (c === 't') return readLiteral('true', { kind: 'boolean', value: true });
    if (c === 'f') return readLiteral('false', { kind: 'boolean', value: false });
    if (c === 'n') return readLiteral('null', { kind: 'null' });
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return readNumber();
    return fail(c === undefined ? 'no content' : 'unexpected character');
  };
  return readValue(0);
}

/** A number written into JSON exactly as given, as Jackson writes a BigDecimal. */
export class RawNumber {
  constructor(readonly text: string) {}
}

/** JSON text with RawNumber values written as they are. */
export function writeJson(value: unknown): string {
  if (value instanceof RawNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(writeJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${writeJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A plain JS value for a JSON node (fields the API does not know, kept by the simulator as they were sent). */
export function plain(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object':
      return Object.fromEntries([...node.fields].map(([k, v]) => [k, plain(v)]));
    case 'array':
      return node.items.map(plain);
    case 'number':
      return Number(node.text);
    case 'boolean':
    case 'string':
      return node.value;
    case 'null':
      return null;
  }
}
