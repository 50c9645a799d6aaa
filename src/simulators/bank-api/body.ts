// A request body read into the SDW2023 API's DTOs as Jackson 2.15 does: strings coerced to numbers and numbers to
// strings, BigDecimals with the digits sent, unknown fields kept by the simulator (see docs/bank-api.md).
import { TextDecoder } from 'node:util';
import { accountFields, cardFields, itemFields, userFields } from './bank';
import { Decimal } from './decimal';
import { plain, UnreadableBody, type JsonNode } from './json';

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

// ---- The request body, read into the original's DTOs ----

interface AccountIn {
  id: bigint | null;
  number: string | null;
  agency: string | null;
  balance: Decimal | null;
  limit: Decimal | null;
  extra: Record<string, unknown>;
}
interface CardIn {
  id: bigint | null;
  number: string | null;
  limit: Decimal | null;
  extra: Record<string, unknown>;
}
export interface ItemIn {
  id: bigint | null;
  icon: string | null;
  description: string | null;
  extra: Record<string, unknown>;
}
export interface UserIn {
  id: bigint | null;
  name: string | null;
  account: AccountIn | null;
  card: CardIn | null;
  /** UserDto.toModel(): a missing or null list is an empty one. */
  features: ItemIn[];
  news: ItemIn[];
  extra: Record<string, unknown>;
}

function readItem(node: JsonNode): ItemIn {
  // A null element makes UserDto.toModel() throw a NullPointerException: a 500 as well.
  const f = asObject(node);
  if (!f) throw new UnreadableBody('a null list element');
  return {
    id: asLong(f.get('id')),
    icon: asString(f.get('icon')),
    description: asString(f.get('description')),
    extra: extraFields(f, itemFields),
  };
}

export function readUser(body: JsonNode): UserIn {
  const u = asObject(body);
  if (!u) throw new UnreadableBody('Required request body is missing');
  const a = asObject(u.get('account'));
  const c = asObject(u.get('card'));
  return {
    id: asLong(u.get('id')),
    name: asString(u.get('name')),
    account: a && {
      id: asLong(a.get('id')),
      number: asString(a.get('number')),
      agency: asString(a.get('agency')),
      balance: asDecimal(a.get('balance')),
      limit: asDecimal(a.get('limit')),
      extra: extraFields(a, accountFields),
    },
    card: c && {
      id: asLong(c.get('id')),
      number: asString(c.get('number')),
      limit: asDecimal(c.get('limit')),
      extra: extraFields(c, cardFields),
    },
    features: (asArray(u.get('features')) ?? []).map(readItem),
    news: (asArray(u.get('news')) ?? []).map(readItem),
    extra: extraFields(u, userFields),
  };
}

/** The decoder Jackson reads the body with, from the request's Content-Type; undefined when Spring has none. */
export function bodyDecoder(contentType: string | undefined): TextDecoder | undefined {
  if (!contentType) return undefined;
  const [essence = '', ...params] = contentType.split(';').map((s) => s.trim().toLowerCase());
  const m = /^application\/([\w.+-]+)$/.exec(essence);
  if (!m || (m[1] !== 'json' && !m[1]!.endsWith('+json'))) return undefined;
  const charset = params.map((p) => /^charset="?([\w.:-]+)"?$/.exec(p)?.[1]).find((c) => c !== undefined);
  if (charset === undefined || charset === 'utf-8' || charset === 'us-ascii') {
    return new TextDecoder('utf-8', { fatal: true });
  }
  if (charset === 'iso-8859-1') return new TextDecoder('latin1');
  return undefined;
}
