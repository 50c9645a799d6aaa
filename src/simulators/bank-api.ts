// The SDW2023 bank API (Spring Boot 3.1, Hibernate 6.2, H2) as a loopback server: the same routes, answers, wording
// and database rules, with fault knobs on top. docs/bank-api.md lists each behaviour and the test that checks it.
import { existsSync } from 'node:fs';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type Customer } from '../customer';
import { linkedNumber, type Sequences } from './bank-api/bank';
import { bodyDecoder, readUser, type UserIn } from './bank-api/body';
import { append, compact, replay, type Change } from './bank-api/journal';
import { RawNumber, readJsonValue, UnreadableBody, writeJson } from './bank-api/json';
import { save, WriteFailed } from './bank-api/save';
import { seedBank } from './bank-api/seed';
import { checkRate, close, listen, readRequestBytes, sendText } from './http';

export { generateCustomers, loadSeed } from './bank-api/seed';

export interface BankApiFaults {
  /** Fraction of requests answered 500. */
  errorRate: number;
  /** Fraction answered 429 with Retry-After. */
  rateLimitRate: number;
  /** Fraction never answered. */
  hangRate: number;
  /** Fraction whose connection is reset. */
  resetRate: number;
  /** Fraction answered 200 with a broken JSON body. */
  malformedRate: number;
  latencyMs: number;
  jitterMs: number;
  /** Seconds sent in Retry-After with a 429. */
  retryAfterSeconds: number;
}

export const noFaults = (): BankApiFaults => ({
  errorRate: 0,
  rateLimitRate: 0,
  hangRate: 0,
  resetRate: 0,
  malformedRate: 0,
  latencyMs: 0,
  jitterMs: 0,
  retryAfterSeconds: 1,
});

export interface BankApiOptions {
  port?: number;
  /** Users to start from when there is no state yet. */
  seed: Customer[];
  /** Journal of every change, replayed at start, so loads survive a restart. Once it exists, it is the whole state. */
  stateFile?: string;
  faults?: Partial<BankApiFaults>;
}

export interface BankApiSimulator {
  url: string;
  faults: BankApiFaults;
  /** Every user as GET /users/{id} returns it (balances as numbers); read-only, by id. */
  users: Map<number, Customer>;
  /** Requests answered, by method, for tests and benchmarks. */
  requests: { GET: number; PUT: number; POST: number; DELETE: number };
  /**
   * Holds every request that arrives from now on until the returned function is called, so a test decides when the
   * API answers instead of guessing how long work takes. Requests already held are then answered as usual.
   */
  hold: () => () => void;
  close: () => Promise<void>;
}

/** The one user the original API refuses to create, update or delete. */
const unchangeableUserId = 1n;
/** GlobalExceptionHandler's answer to anything but its own business rules. */
const unexpected = 'Unexpected server error.';
const notFound = 'Resource ID not found.';

// ---- HTTP as Spring MVC and Tomcat answer it ----

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(header: string | undefined): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of (header ?? '*/*').split(',')) {
    const [essence = '', ...params] = part.split(';').map((s) => s.trim());
    const m = /^([\w.+*-]+)\/([\w.+*-]+)$/.exec(essence.toLowerCase());
    if (!m) continue;
    const q = params.map((p) => /^q=([\d.]+)$/i.exec(p)?.[1]).find((v) => v !== undefined);
    ranges.push({ type: m[1]!, subtype: m[2]!, q: q === undefined ? 1 : Number(q) });
  }
  return ranges.length > 0 ? ranges : [{ type: '*', subtype: '*', q: 1 }];
}

const suffixOf = (subtype: string): string | undefined => subtype.split('+')[1];
const specificity = (m: MediaRange): number =>
  m.type === '*' ? 0 : m.subtype === '*' ? 1 : m.subtype.startsWith('*+') ? 2 : 3;
const compatible = (a: MediaRange, b: MediaRange): boolean => {
  if (a.type !== '*' && b.type !== '*' && a.type !== b.type) return false;
  if (a.subtype === '*' || b.subtype === '*' || a.subtype === b.subtype) return true;
  const wildcardSuffix = (w: MediaRange, o: MediaRange) =>
    w.subtype.startsWith('*+') && (suffixOf(w.subtype) === o.subtype || suffixOf(w.subtype) === suffixOf(o.subtype));
  return wildcardSuffix(a, b) || wildcardSuffix(b, a);
};

const json: MediaRange = { type: 'application', subtype: 'json', q: 1 };
const plusJson: MediaRange = { type: 'application', subtype: '*+json', q: 1 };
/** What Spring can write a String as: StringHttpMessageConverter (text/plain, any type), then Jackson's types. */
const forStrings: MediaRange[] = [
  { type: 'text', subtype: 'plain', q: 1 },
  { type: '*', subtype: '*', q: 1 },
  json,
  plusJson,
];
const isJson = (m: MediaRange) => m.type === 'application' && (m.subtype === 'json' || suffixOf(m.subtype) === 'json');

/** Spring's content negotiation: the first concrete type compatible with Accept, by quality and specificity. */
function negotiate(accept: string | undefined, producible: MediaRange[]): MediaRange | undefined {
  const candidates: MediaRange[] = [];
  for (const wanted of parseAccept(accept)) {
    if (wanted.q <= 0) continue;
    for (const offered of producible) {
      if (compatible(wanted, offered)) {
        const specific = specificity(offered) > specificity(wanted) ? offered : wanted;
        candidates.push({ ...specific, q: wanted.q });
      }
    }
  }
  candidates.sort((a, b) => b.q - a.q || specificity(b) - specificity(a));
  for (const c of candidates) {
    if (specificity(c) === 3) return c;
    if (c.type === '*' || (c.type === 'application' && c.subtype === '*')) {
      return { type: 'application', subtype: 'octet-stream', q: c.q };
    }
  }
  return undefined;
}

/** The Content-Type of a String answer: text/plain unless Accept asks for another type (JSON types get no charset). */
function stringType(accept: string | undefined): string {
  const m = negotiate(accept, forStrings) ?? forStrings[0]!;
  return isJson(m) ? `${m.type}/${m.subtype}` : `${m.type}/${m.subtype};charset=UTF-8`;
}

/** The Content-Type of a JSON answer, or undefined when Accept rules JSON out (Spring then fails with a 500). */
function jsonType(accept: string | undefined): string | undefined {
  const m = negotiate(accept, [json, plusJson]);
  return m && isJson(m) ? `${m.type}/${m.subtype}` : undefined;
}

/** Spring's CORS processing adds these three Vary values (Tomcat sends three lines; fetch joins them like this). */
const vary = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

function send(res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { ...headers, 'content-length': bytes.length });
  res.end(bytes);
}

/** A request target as Tomcat hands it to Spring: decoded, `;parameters` dropped, `//`, `.` and `..` resolved. */
function parseTarget(url: string): { rawPath: string; query: string | undefined; segments: string[] } | undefined {
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
function pathId(text: string): bigint | undefined {
  const s = [...text].filter((ch) => !javaWhitespace(ch.charCodeAt(0))).join('');
  const hex = /^(-?)(?:0[xX]|#)([0-9a-fA-F]+)$/.exec(s);
  let n: bigint;
  if (hex) n = BigInt(`0x${hex[2]}`) * (hex[1] ? -1n : 1n);
  else if (/^[+-]?\d+$/.test(s)) n = BigInt(s);
  else return undefined;
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startBankApi(options: BankApiOptions): Promise<BankApiSimulator> {
  const faults: BankApiFaults = { ...noFaults(), ...options.faults };
  for (const key of ['errorRate', 'rateLimitRate', 'hangRate', 'resetRate', 'malformedRate'] as const) {
    checkRate(key, faults[key]);
  }
  const stateFile = options.stateFile;
  const bank = stateFile && existsSync(stateFile) ? replay(stateFile) : seedBank(options.seed);
  if (stateFile) compact(bank, stateFile);
  const record = (change: Change): void => {
    // Appended synchronously before the answer goes out: an acknowledged change survives a crash.
    if (stateFile) append(stateFile, change);
  };
  const requests = { GET: 0, PUT: 0, POST: 0, DELETE: 0 };

  const holds = new Set<Promise<void>>();
  const hold = (): (() => void) => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    holds.add(held);
    return () => {
      holds.delete(held);
      release();
    };
  };

  /** The user as GET shows it: balances and limits as H2 returns them, with two decimals. */
  const twoDecimals = (n: unknown): unknown => (typeof n === 'number' ? new RawNumber(n.toFixed(2)) : n);
  const onTheWire = (u: Customer): unknown => ({
    ...u,
    account: u.account && {
      ...u.account,
      balance: twoDecimals(u.account.balance),
      limit: twoDecimals(u.account.limit),
    },
    card: u.card && { ...u.card, limit: twoDecimals(u.card.limit) },
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    while (holds.size > 0) await Promise.all(holds);
    const delay = faults.latencyMs + Math.random() * faults.jitterMs;
    if (delay > 0) await sleep(delay);
    if (Math.random() < faults.hangRate) return; // Never answered: the client's timeout must cut it.
    if (Math.random() < faults.resetRate) {
      req.socket.destroy();
      return;
    }
    const accept = req.headers.accept;
    const text = (status: number, body: string, headers: OutgoingHttpHeaders = {}): void =>
      send(res, status, body, { ...headers, 'content-type': stringType(accept) });
    if (Math.random() < faults.errorRate) return text(500, unexpected);
    if (Math.random() < faults.rateLimitRate) {
      return sendText(res, 429, 'Too Many Requests', { 'retry-after': String(faults.retryAfterSeconds) });
    }

    const method = req.method ?? 'GET';
    const target = parseTarget(req.url ?? '/');
    if (!target) return send(res, 400, '', {}); // Tomcat refuses the request line before Spring sees it.
    const host = req.headers.host ?? `${req.socket.localAddress}:${req.socket.localPort}`;
    const origin = req.headers.origin;
    const crossOrigin = origin !== undefined && !sameOrigin(origin, host);
    const preflight =
      method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    const invalidCors = (): void => send(res, 403, 'Invalid CORS request', { vary });

    // The controller maps /users and /users/{id}, nothing else (no trailing slash since Spring 6).
    const [first, route, ...rest] = target.segments;
    if (first !== 'users' || rest.length > 0 || route === '') {
      // No controller mapping: the static resource handler finds nothing and Spring Boot's /error answers.
      if (preflight) return crossOrigin ? invalidCors() : send(res, 200, '', { vary });
      return notFoundPage(req, res, target.rawPath);
    }
    const methods = route === undefined ? ['GET', 'POST'] : ['GET', 'PUT', 'DELETE'];
    if (method in requests) requests[method as keyof typeof requests] += 1;
    if (Math.random() < faults.malformedRate && method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{"id": 1, "name": "Trunc');
    }

    if (preflight) {
      const wanted = String(req.headers['access-control-request-method']);
      if (!crossOrigin) return send(res, 200, '', { vary });
      // The preflight matches a handler by its requested method; @CrossOrigin allows that handler's method only.
      if (!methods.includes(wanted)) return invalidCors();
      const requestedHeaders = String(req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter((h) => h !== '');
      return send(res, 200, '', {
        vary,
        'access-control-allow-origin': '*',
        'access-control-allow-methods': wanted,
        ...(requestedHeaders.length > 0 ? { 'access-control-allow-headers': requestedHeaders.join(', ') } : {}),
        'access-control-max-age': '1800',
      });
    }
    if (method === 'OPTIONS') {
      const allow = methods.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
      return send(res, 200, '', { allow: [...allow, 'OPTIONS'].join(',') });
    }
    const handlerMethod = method === 'HEAD' ? 'GET' : method;
    // A method the path does not map: HttpRequestMethodNotSupportedException, caught by the Throwable handler.
    if (!methods.includes(handlerMethod)) return text(500, unexpected);

    // The controller's @CrossOrigin: Vary on every answer, Access-Control-Allow-Origin on cross-origin ones.
    const headers: OutgoingHttpHeaders = { vary };
    if (crossOrigin) {
      if (handlerMethod !== method) return invalidCors(); // HEAD is not the GET handler's method.
      headers['access-control-allow-origin'] = '*';
    }
    const answer = (status: number, body: string): void => text(status, body, headers);
    const user = (status: number, value: unknown, extra: OutgoingHttpHeaders = {}): void => {
      const type = jsonType(accept);
      if (!type) return answer(500, unexpected);
      send(res, status, writeJson(value), { ...headers, ...extra, 'content-type': type });
    };

    if (route === undefined && handlerMethod === 'GET') {
      return user(200, [...bank.users.values()].sort((a, b) => a.id - b.id).map(onTheWire));
    }
    const id = route === undefined ? undefined : pathId(route);
    if (route !== undefined && id === undefined) return answer(500, unexpected);
    const existing = id !== undefined && id <= BigInt(Number.MAX_SAFE_INTEGER) ? bank.users.get(Number(id)) : undefined;
    if (handlerMethod === 'GET') return existing ? user(200, onTheWire(existing)) : answer(404, notFound);
    if (handlerMethod === 'DELETE') {
      if (id === unchangeableUserId) return answer(422, `User with ID ${unchangeableUserId} can not be deleted.`);
      if (!existing) return answer(404, notFound);
      bank.remove(existing.id);
      record({ op: 'delete', id: existing.id, next: { ...bank.next } });
      return send(res, 204, '', headers);
    }

    // POST /users and PUT /users/{id}: the body first, as Spring resolves it before the controller runs.
    const decoder = bodyDecoder(req.headers['content-type']);
    const bytes = await readRequestBytes(req);
    if (bytes === undefined) return sendText(res, 413, 'Payload Too Large');
    let input: UserIn;
    try {
      if (!decoder) throw new UnreadableBody('Content-Type not supported');
      input = readUser(readJsonValue(decoder.decode(bytes)));
    } catch (err) {
      if (err instanceof UnreadableBody || err instanceof TypeError) return answer(500, unexpected);
      throw err;
    }

    const before = { ...bank.next };
    const write = (mode: 'persist' | 'merge', replacing: Customer | undefined) => {
      try {
        const saved = save(bank, input, mode, replacing);
        bank.put(saved.user);
        record({ op: 'put', user: saved.user, next: { ...bank.next } });
        return saved.echo;
      } catch (err) {
        if (!(err instanceof WriteFailed)) throw err;
        // Rolled back; the IDENTITY values the failed inserts drew stay drawn.
        if (Object.entries(before).some(([k, v]) => bank.next[k as keyof Sequences] !== v)) {
          record({ op: 'next', next: { ...bank.next } });
        }
        answer(500, unexpected);
        return undefined;
      }
    };

    if (handlerMethod === 'POST') {
      if (!input.account) return answer(422, 'User account must not be null.');
      if (!input.card) return answer(422, 'User card must not be null.');
      if (input.id === unchangeableUserId) {
        return answer(422, `User with ID ${unchangeableUserId} can not be created.`);
      }
      if (linkedNumber(bank, 'account', input.account.number))
        return answer(422, 'This account number already exists.');
      if (linkedNumber(bank, 'card', input.card.number)) return answer(422, 'This card number already exists.');
      // JPA save(): persist without an id; with one, merge, which replaces that user if it exists.
      const replacing =
        input.id !== null && input.id >= 1n && input.id <= BigInt(Number.MAX_SAFE_INTEGER)
          ? bank.users.get(Number(input.id))
          : undefined;
      const echo = write(input.id === null ? 'persist' : 'merge', replacing);
      if (echo === undefined) return;
      const location = `http://${host.replace(/:80$/, '')}${target.rawPath}/${(echo as Customer).id}${
        target.query === undefined ? '' : `?${target.query}`
      }`;
      return user(201, echo, { location });
    }

    // PUT
    if (id === unchangeableUserId) return answer(422, `User with ID ${unchangeableUserId} can not be updated.`);
    if (!existing) return answer(404, notFound);
    if (input.id === null || input.id !== BigInt(existing.id)) return answer(422, 'Update IDs must be the same.');
    const echo = write('merge', existing);
    if (echo !== undefined) user(200, echo);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, unexpected, { 'content-type': stringType(req.headers.accept) });
    });
  });
  const url = await listen(server, options.port ?? 0);
  return { url, faults, users: bank.users, requests, hold, close: () => close(server) };
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    const o = new URL(origin);
    const h = new URL(`http://${host}`);
    return o.protocol === 'http:' && o.hostname === h.hostname && (o.port || '80') === (h.port || '80');
  } catch {
    return false;
  }
}

/** Spring Boot's /error for a path no controller maps: JSON, the Whitelabel page for browsers, nothing otherwise. */
function notFoundPage(req: IncomingMessage, res: ServerResponse, rawPath: string): void {
  const accept = req.headers.accept;
  const now = new Date();
  if (parseAccept(accept).some((m) => m.q > 0 && m.type === 'text' && m.subtype === 'html')) {
    const created = now.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/, '$1 $3 $2 $5 UTC $4');
    const page =
      '<html><body><h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error, so you are ' +
      `seeing this as a fallback.</p><div id='created'>${created}</div><div>There was an unexpected error ` +
      '(type=Not Found, status=404).</div></body></html>';
    return send(res, 404, page, { vary, 'content-type': 'text/html;charset=UTF-8' });
  }
  const type = jsonType(accept);
  if (!type) return send(res, 404, '', { vary });
  const body = {
    timestamp: now.toISOString().replace('Z', '+00:00'),
    status: 404,
    error: 'Not Found',
    path: rawPath,
  };
  send(res, 404, JSON.stringify(body), { vary, 'content-type': type });
}
