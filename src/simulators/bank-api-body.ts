// How the SDW2023 API (Spring MVC with Jackson 2.15 defaults) reads a request body and writes numbers, for the bank
// API simulator: the first JSON value is read and the rest ignored, unknown properties are skipped (the simulator
// keeps them, see docs/bank-api.md), strings are coerced to numbers and numbers to strings, and BigDecimal values keep
// the digits they were sent with. Anything Jackson refuses throws UnreadableBody, which the API answers with a 500.

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

/** java.math.BigDecimal as far as the API uses it: unscaled digits and a scale, printed as BigDecimal.toString(). */
export class Decimal {
  constructor(
    readonly unscaled: bigint,
    readonly scale: number,
  ) {}

  /** `new BigDecimal(text)`: optional sign, digits with an optional point, optional exponent; undefined if invalid. */
  static parse(text: string): Decimal | undefined {
    const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (!m) return undefined;
    const [, sign, whole = '', fraction = '', exponent] = m;
    if (whole === '' && fraction === '') return undefined;
    const exp = exponent === undefined ? 0 : Number(exponent);
    const scale = fraction.length - exp;
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 2 ** 31 - 1 || scale > 2 ** 31 - 1 || scale < -(2 ** 31)) {
      return undefined;
    }
    const digits = BigInt(whole + fraction);
    return new Decimal(sign === '-' ? -digits : digits, scale);
  }

  /** BigDecimal.toString(): plain unless the exponent is below -6 or the scale is negative. */
  toString(): string {
    const negative = this.unscaled < 0n;
    const coefficient = (negative ? -this.unscaled : this.unscaled).toString();
    const adjusted = coefficient.length - 1 - this.scale;
    let out: string;
    if (this.scale >= 0 && adjusted >= -6) {
      if (this.scale === 0) out = coefficient;
      else if (coefficient.length > this.scale) {
        out = `${coefficient.slice(0, coefficient.length - this.scale)}.${coefficient.slice(coefficient.length - this.scale)}`;
      } else out = `0.${'0'.repeat(this.scale - coefficient.length)}${coefficient}`;
    } else {
      const mantissa = coefficient.length > 1 ? `${coefficient[0]}.${coefficient.slice(1)}` : coefficient;
      out = `${mantissa}E${adjusted >= 0 ? '+' : ''}${adjusted}`;
    }
    return negative ? `-${out}` : out;
  }
}

/** H2's largest scale for a NUMERIC value; a bound BigDecimal with more is refused before any conversion. */
const h2MaximumScale = 100_000;

/**
 * The value H2 stores in a NUMERIC(13, 2) column (the API's balances and limits): rounded HALF_UP to 2 decimals,
 * refused (undefined) when it then has more than 13 digits, i.e. from 100,000,000,000.00 on.
 */
export function numeric13x2(value: Decimal): number | undefined {
  if (value.scale > h2MaximumScale) return undefined;
  const negative = value.unscaled < 0n;
  const coefficient = (negative ? -value.unscaled : value.unscaled).toString();
  if (coefficient === '0') return 0;
  const adjusted = coefficient.length - 1 - value.scale;
  if (adjusted >= 11) return undefined;
  let cents: bigint;
  if (adjusted < -3) cents = 0n;
  else if (value.scale <= 2) cents = BigInt(coefficient) * 10n ** BigInt(2 - value.scale);
  else {
    const keep = coefficient.length - (value.scale - 2);
    const roundUp = (coefficient[keep] ?? '0') >= '5' ? 1n : 0n;
    cents = (keep > 0 ? BigInt(coefficient.slice(0, keep)) : 0n) + (keep >= 0 ? roundUp : 0n);
  }
  if (cents >= 10n ** 13n) return undefined;
  return Number(negative ? -cents : cents) / 100;
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

// ---- Jackson's coercions into the API's DTO field types (Long, String, BigDecimal, records, lists) ----

/** Java's String.trim(): every character up to U+0020 at either end. */
function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start += 1;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end -= 1;
  return s.slice(start, end);
}
const longMin = -(2n ** 63n);
const longMax = 2n ** 63n - 1n;
const inLongRange = (n: bigint): boolean => n >= longMin && n <= longMax;

const notANumber = (text: string): never => {
  throw new UnreadableBody(`not a number: ${JSON.stringify(text)}`);
};

/** A string bound to a Long or BigDecimal: blank, or "null" once trimmed, is null; anything else must parse. */
function fromString<T>(value: string, parse: (trimmed: string) => T | undefined): T | null {
  const trimmed = javaTrim(value);
  if (trimmed === '' || trimmed === 'null') return null;
  return parse(trimmed) ?? notANumber(value);
}

/** A java.lang.Long field: integers, floats truncated (ACCEPT_FLOAT_AS_INT), numeric strings; null stays null. */
export function asLong(node: JsonNode | undefined): bigint | null {
  if (node === undefined || node.kind === 'null') return null;
  if (node.kind === 'number') {
    if (node.integral) {
      const n = BigInt(node.text);
      if (!inLongRange(n)) throw new UnreadableBody('integer out of the range of a long');
      return n;
    }
    const d = Number(node.text);
    if (d < -9.223372036854776e18 || d > 9.223372036854776e18) throw new UnreadableBody('out of the range of a long');
    return d >= 9.223372036854776e18 ? longMax : BigInt(Math.trunc(d));
  }
  if (node.kind === 'string') {
    return fromString(node.value, (s) => {
      if (!/^[+-]?\d+$/.test(s)) return undefined;
      const n = BigInt(s);
      return inLongRange(n) ? n : undefined;
    });
  }
  throw new UnreadableBody(`a ${node.kind} where a number belongs`);
}

/** A java.math.BigDecimal field: numbers with the digits sent, numeric strings; null stays null. */
export function asDecimal(node: JsonNode | undefined): Decimal | null {
  if (node === undefined || node.kind === 'null') return null;
  // A JSON number can still be beyond BigDecimal: an exponent past Integer.MAX_VALUE.
  if (node.kind === 'number') return Decimal.parse(node.text) ?? notANumber(node.text);
  if (node.kind === 'string') return fromString(node.value, (s) => Decimal.parse(s));
  throw new UnreadableBody(`a ${node.kind} where a number belongs`);
}

/** A java.lang.String field: strings, and numbers and booleans as their text; null stays null. */
export function asString(node: JsonNode | undefined): string | null {
  if (node === undefined || node.kind === 'null') return null;
  if (node.kind === 'string') return node.value;
  if (node.kind === 'number') return node.text;
  if (node.kind === 'boolean') return String(node.value);
  throw new UnreadableBody(`a ${node.kind} where a string belongs`);
}

/** A record field: an object, or null. */
export function asObject(node: JsonNode | undefined): Map<string, JsonNode> | null {
  if (node === undefined || node.kind === 'null') return null;
  if (node.kind === 'object') return node.fields;
  throw new UnreadableBody(`a ${node.kind} where an object belongs`);
}

/** A List field: an array, or null. */
export function asArray(node: JsonNode | undefined): JsonNode[] | null {
  if (node === undefined || node.kind === 'null') return null;
  if (node.kind === 'array') return node.items;
  throw new UnreadableBody(`a ${node.kind} where a list belongs`);
}

/** The fields of an object the DTO does not know, as plain values. */
export function extraFields(fields: Map<string, JsonNode>, known: readonly string[]): Record<string, unknown> {
  return Object.fromEntries([...fields].filter(([k]) => !known.includes(k)).map(([k, v]) => [k, plain(v)]));
}
