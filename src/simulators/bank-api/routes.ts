// The SDW2023 API's routes as the bank API simulator answers them, with the original's rules and wording: /users and
// /users/{id}, CORS, Spring Boot's /error for any other path, and the fault knobs and holds applied to each request.
import { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { type Customer } from '../../customer';
import { readRequestBytes, sendText } from '../http';
import { linkedNumber, type Bank, type Sequences } from './bank';
import { bodyDecoder, readUser, type UserIn } from './body';
import { type BankApiFaults } from './faults';
import { type Change } from './journal';
import { RawNumber, readJsonValue, UnreadableBody, writeJson } from './json';
import { jsonType, parseAccept, send, stringType, vary } from './negotiation';
import { parseTarget, pathId, sameOrigin } from './request';
import { save, WriteFailed } from './save';

/** The one user the original API refuses to create, update or delete. */
const unchangeableUserId = 1n;
/** GlobalExceptionHandler's answer to anything but its own business rules. */
export const unexpected = 'Unexpected server error.';
const notFound = 'Resource ID not found.';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the routes work on; startBankApi owns it. */
export interface RouteState {
  bank: Bank;
  faults: BankApiFaults;
  /** Requests answered, by method. */
  requests: { GET: number; PUT: number; POST: number; DELETE: number };
  /** While any of these is pending, requests wait (hold()). */
  holds: Set<Promise<void>>;
  /** Journals a change before its answer goes out. */
  record: (change: Change) => void;
}

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

/** The server's request handler: each request waits out the holds, meets the fault knobs, then takes its route. */
export function routes(state: RouteState): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { bank, faults, requests, holds, record } = state;
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
  };
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
