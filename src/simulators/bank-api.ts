// The SDW2023 bank API (Spring) as a loopback server: the same routes, answers and rules, with fault knobs.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { z } from 'zod';
import { customerSchema, type Customer } from '../customer';
import { checkRate, close, listen, readRequestBody, sendJson, sendText } from './http';

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
  /** Journal of every change, replayed at start, so loads survive a restart. */
  stateFile?: string;
  faults?: Partial<BankApiFaults>;
}

export interface BankApiSimulator {
  url: string;
  faults: BankApiFaults;
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

/** The one user the original API refuses to update or delete. */
const unchangeableUserId = 1;

export const loadSeed = (file: string): Customer[] => {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`The seed file ${file} is not readable JSON (${(err as Error).message}).`);
  }
  const parsed = customerSchema.array().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `The seed file ${file} is not an array of SDW2023 users (${issue?.path.join('.')}: ${issue?.message}).`,
    );
  }
  return parsed.data;
};

const firstNames = [
  'Ana',
  'Bruno',
  'Carla',
  'Diego',
  'Elisa',
  'Fábio',
  'Gisele',
  'Hugo',
  'Ingrid',
  'Júlio',
  'Kátia',
  'Luís',
];
const surnames = ['Silva', 'Souza', 'Costa', 'Pereira', 'Lima', 'Ramos', 'Teixeira', 'Barros', 'Cardoso', 'Moura'];

/** Fictional customers numbered from `firstId`, for lists larger than the seed (tests, benchmarks, scale runs). */
export function generateCustomers(count: number, firstId: number): Customer[] {
  return Array.from({ length: count }, (_, i) => {
    const id = firstId + i;
    const digits = String(id).padStart(6, '0');
    return {
      id,
      name: `${firstNames[id % firstNames.length]} ${surnames[Math.floor(id / firstNames.length) % surnames.length]}`,
      account: { id, number: `G${digits}-${id % 10}`, agency: '0001', balance: (id * 37) % 20000, limit: 1000 },
      card: { id, number: `xxxx xxxx xx${digits.slice(0, 2)} ${digits.slice(2)}`, limit: 2000 },
      features: [],
      news: [],
    };
  });
}

type Change = { op: 'put'; user: Customer } | { op: 'delete'; id: number };

function replay(seed: Customer[], stateFile: string | undefined): Map<number, Customer> {
  const users = new Map<number, Customer>(seed.map((u) => [u.id, u]));
  if (!stateFile || !existsSync(stateFile)) return users;
  for (const line of readFileSync(stateFile, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let change: Change;
    try {
      change = JSON.parse(line) as Change;
    } catch {
      continue; // A line cut short by a crash mid-write: everything before it stands.
    }
    if (change.op === 'put') users.set(change.user.id, change.user);
    else users.delete(change.id);
  }
  return users;
}

/** Rewrites the journal as one line per user, so it does not grow without end across restarts. */
function compact(users: Map<number, Customer>, stateFile: string): void {
  mkdirSync(path.dirname(stateFile), { recursive: true });
  const tmp = `${stateFile}.tmp`;
  writeFileSync(tmp, [...users.values()].map((user) => JSON.stringify({ op: 'put', user })).join('\n') + '\n');
  renameSync(tmp, stateFile);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startBankApi(options: BankApiOptions): Promise<BankApiSimulator> {
  const faults: BankApiFaults = { ...noFaults(), ...options.faults };
  for (const key of ['errorRate', 'rateLimitRate', 'hangRate', 'resetRate', 'malformedRate'] as const) {
    checkRate(key, faults[key]);
  }
  const users = replay(options.seed, options.stateFile);
  const stateFile = options.stateFile;
  if (stateFile) compact(users, stateFile);
  const record = (change: Change): void => {
    // Appended synchronously before the answer goes out: an acknowledged change survives a crash.
    if (stateFile) appendFileSync(stateFile, JSON.stringify(change) + '\n');
  };
  const requests = { GET: 0, PUT: 0, POST: 0, DELETE: 0 };
  let nextItemId = 1;
  let nextUserId = 1;
  for (const user of users.values()) {
    nextUserId = Math.max(nextUserId, user.id + 1);
    for (const item of [...(user.features ?? []), ...(user.news ?? [])])
      nextItemId = Math.max(nextItemId, (item.id ?? 0) + 1);
  }

  /** Gives ids to the account, card, features and news items that have none, as the database would. */
  const withIds = (user: Customer, previous: Customer | undefined): Customer => ({
    ...user,
    account: user.account && { ...user.account, id: user.account.id ?? previous?.account?.id ?? user.id },
    card: user.card && { ...user.card, id: user.card.id ?? previous?.card?.id ?? user.id },
    features: (user.features ?? []).map((item) => ({ ...item, id: item.id ?? nextItemId++ })),
    news: (user.news ?? []).map((item) => ({ ...item, id: item.id ?? nextItemId++ })),
  });

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

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    while (holds.size > 0) await Promise.all(holds);
    const delay = faults.latencyMs + Math.random() * faults.jitterMs;
    if (delay > 0) await sleep(delay);
    if (Math.random() < faults.hangRate) return; // Never answered: the client's timeout must cut it.
    if (Math.random() < faults.resetRate) {
      req.socket.destroy();
      return;
    }
    if (Math.random() < faults.errorRate) return sendText(res, 500, 'Unexpected server error, see the logs.');
    if (Math.random() < faults.rateLimitRate) {
      return sendText(res, 429, 'Too Many Requests', { 'retry-after': String(faults.retryAfterSeconds) });
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/users(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (!match) return sendText(res, 404, 'Not Found');
    const method = req.method ?? 'GET';
    if (method in requests) requests[method as keyof typeof requests] += 1;
    const idText = match[1];
    if (Math.random() < faults.malformedRate && method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{"id": 1, "name": "Trunc');
    }

    if (idText === undefined) {
      if (method === 'GET') return sendJson(res, 200, [...users.values()]);
      if (method === 'POST') {
        const body = await parseUser(req, res, newUserSchema);
        if (!body) return;
        if ([...users.values()].some((u) => u.account?.number === body.account?.number)) {
          return sendText(res, 422, 'This Account number already exists.');
        }
        if ([...users.values()].some((u) => u.card?.number === body.card?.number)) {
          return sendText(res, 422, 'This Card number already exists.');
        }
        const created = withIds({ ...body, id: nextUserId++ }, undefined);
        users.set(created.id, created);
        record({ op: 'put', user: created });
        return sendJson(res, 201, created, { location: `/users/${created.id}` });
      }
      return sendText(res, 405, 'Method Not Allowed');
    }

    const id = Number(idText);
    if (!/^\d+$/.test(idText) || !Number.isSafeInteger(id)) return sendText(res, 400, 'Invalid user id.');
    const existing = users.get(id);
    if (method === 'GET') {
      return existing ? sendJson(res, 200, existing) : sendText(res, 404, 'Resource ID not found.');
    }
    if (method === 'PUT') {
      const body = await parseUser(req, res);
      if (!body) return;
      if (body.id !== id) return sendText(res, 422, 'Update IDs must be the same.');
      if (!existing) return sendText(res, 404, 'Resource ID not found.');
      if (id === unchangeableUserId) return sendText(res, 422, `This User ID ${unchangeableUserId} cannot be updated.`);
      const updated = withIds(body, existing);
      users.set(id, updated);
      record({ op: 'put', user: updated });
      return sendJson(res, 200, updated);
    }
    if (method === 'DELETE') {
      if (!existing) return sendText(res, 404, 'Resource ID not found.');
      if (id === unchangeableUserId) return sendText(res, 422, `This User ID ${unchangeableUserId} cannot be deleted.`);
      users.delete(id);
      record({ op: 'delete', id });
      res.writeHead(204);
      return void res.end();
    }
    return sendText(res, 405, 'Method Not Allowed');
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendText(res, 500, 'Unexpected server error, see the logs.');
    });
  });
  const url = await listen(server, options.port ?? 0);
  return { url, faults, users, requests, hold, close: () => close(server) };
}

/** A new user's id is the server's to give, as in the original API. */
const newUserSchema = customerSchema.extend({ id: z.unknown().optional() });

async function parseUser(
  req: IncomingMessage,
  res: ServerResponse,
  schema: typeof customerSchema | typeof newUserSchema = customerSchema,
): Promise<Customer | undefined> {
  const text = await readRequestBody(req);
  if (text === undefined) {
    sendText(res, 413, 'Payload Too Large');
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    sendText(res, 400, 'Malformed JSON request.');
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    sendText(res, 400, 'Malformed JSON request.');
    return undefined;
  }
  return { ...parsed.data, id: Number(parsed.data.id ?? 0) };
}
