import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Customer } from '../../src/customer';
import { startBankApi, type BankApiSimulator } from '../../src/simulators/bank-api';
import { startLlm } from '../../src/simulators/llm';
import { scratchDir, seed } from '../helpers';

const json = { 'content-type': 'application/json' };
const textPlain = 'text/plain;charset=UTF-8';

/** One real HTTP exchange with the simulator. A string body is sent as it is, anything else as JSON. */
async function call(
  api: BankApiSimulator,
  method: string,
  urlPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; text: string; headers: Headers }> {
  const res = await fetch(`${api.url}${urlPath}`, {
    method,
    headers: body === undefined ? headers : { ...json, ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text(), headers: res.headers };
}

/** A stored user, as a copy to build request bodies from. */
const userOf = (api: BankApiSimulator, id: number): Customer => structuredClone(api.users.get(id)!);
const newUser = {
  name: 'Nova Cliente',
  account: { number: '00001-1', agency: '0001', balance: 10, limit: 100 },
  card: { number: 'xxxx xxxx xxxx 0001', limit: 100 },
};

async function withApi(run: (api: BankApiSimulator) => Promise<void>, users: Customer[] = seed()): Promise<void> {
  const api = await startBankApi({ seed: users });
  try {
    await run(api);
  } finally {
    await api.close();
  }
}

type Body = ((api: BankApiSimulator) => unknown) | string | Record<string, unknown>;
const bodyFor = (api: BankApiSimulator, body: Body): unknown => (typeof body === 'function' ? body(api) : body);

describe('the SDW2023 bank API simulator answers as the original does', () => {
  test.each<{ name: string; method: string; path: string; body?: Body; status: number; text: string }>([
    {
      name: 'PUT /users/1 is refused before the ids are compared',
      method: 'PUT',
      path: '/users/1',
      body: (api) => ({ ...userOf(api, 1), id: 2 }),
      status: 422,
      text: 'User with ID 1 can not be updated.',
    },
    {
      name: 'DELETE /users/1',
      method: 'DELETE',
      path: '/users/1',
      status: 422,
      text: 'User with ID 1 can not be deleted.',
    },
    {
      name: 'PUT /users/999999 with body id 999998: existence is checked first',
      method: 'PUT',
      path: '/users/999999',
      body: (api) => ({ ...userOf(api, 2), id: 999998 }),
      status: 404,
      text: 'Resource ID not found.',
    },
    {
      name: 'PUT with no id in the body',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), id: undefined }),
      status: 422,
      text: 'Update IDs must be the same.',
    },
    {
      name: 'PUT with another id in the body',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), id: 3 }),
      status: 422,
      text: 'Update IDs must be the same.',
    },
    {
      name: 'POST with "id": 1',
      method: 'POST',
      path: '/users',
      body: { ...newUser, id: 1 },
      status: 422,
      text: 'User with ID 1 can not be created.',
    },
    {
      name: 'POST with the account number of a user',
      method: 'POST',
      path: '/users',
      body: { ...newUser, account: { number: '96069-1' } },
      status: 422,
      text: 'This account number already exists.',
    },
    {
      name: 'POST with the card number of a user',
      method: 'POST',
      path: '/users',
      body: { ...newUser, card: { number: 'xxxx xxxx xxxx 2386' } },
      status: 422,
      text: 'This card number already exists.',
    },
    {
      name: 'POST without an account',
      method: 'POST',
      path: '/users',
      body: { ...newUser, account: null },
      status: 422,
      text: 'User account must not be null.',
    },
    {
      name: 'POST without a card',
      method: 'POST',
      path: '/users',
      body: { ...newUser, card: undefined },
      status: 422,
      text: 'User card must not be null.',
    },
    { name: 'GET /users/-1', method: 'GET', path: '/users/-1', status: 404, text: 'Resource ID not found.' },
    { name: 'GET /users/404404', method: 'GET', path: '/users/404404', status: 404, text: 'Resource ID not found.' },
  ])('refuses with the original wording, as text/plain: $name', async ({ method, path: p, body, status, text }) => {
    await withApi(async (api) => {
      const before = structuredClone([...api.users.values()]);
      const res = await call(api, method, p, body === undefined ? undefined : bodyFor(api, body));
      expect([res.status, res.text, res.type]).toEqual([status, text, textPlain]);
      expect([...api.users.values()]).toEqual(before);
    });
  });

  const long = 'x'.repeat(256);
  test.each<{ name: string; method: string; path: string; body?: Body; headers?: Record<string, string> }>([
    { name: 'a malformed JSON body (PUT)', method: 'PUT', path: '/users/2', body: '{"id": 2, "name": ' },
    { name: 'a malformed JSON body (POST)', method: 'POST', path: '/users', body: '{"name": "x",}' },
    { name: 'GET /users/abc', method: 'GET', path: '/users/abc' },
    { name: 'an id over 64 bits', method: 'GET', path: '/users/18446744073709551616' },
    { name: 'an id one past the largest long', method: 'DELETE', path: '/users/9223372036854775808' },
    { name: 'PATCH /users/2', method: 'PATCH', path: '/users/2', body: (api) => userOf(api, 2) },
    { name: 'POST /users/2', method: 'POST', path: '/users/2', body: (api) => userOf(api, 2) },
    { name: 'DELETE /users', method: 'DELETE', path: '/users' },
    { name: 'PUT /users', method: 'PUT', path: '/users', body: (api) => userOf(api, 2) },
    {
      name: 'a news description over 255 characters',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), news: [{ icon: 'i', description: long }] }),
    },
    {
      name: 'a feature description over 255 characters',
      method: 'POST',
      path: '/users',
      body: { ...newUser, features: [{ icon: 'i', description: long }] },
    },
    {
      name: 'a balance over precision 13',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), account: { ...userOf(api, 2).account, balance: 100000000000 } }),
    },
    {
      name: 'a limit that rounds over precision 13',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), card: { ...userOf(api, 2).card, limit: '99999999999.995' } }),
    },
    {
      name: 'the account number of another user',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), account: { ...userOf(api, 2).account, number: '38480-1' } }),
    },
    {
      name: 'the card number of another user',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), card: { ...userOf(api, 2).card, number: 'xxxx xxxx xxxx 1436' } }),
    },
    {
      name: 'a PUT whose account has no id',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), account: { ...userOf(api, 2).account, id: undefined } }),
    },
    {
      name: 'a PUT whose card has no id',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), card: { ...userOf(api, 2).card, id: null } }),
    },
    {
      name: 'a PUT linking the account of another user',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), account: userOf(api, 3).account }),
    },
    {
      name: 'a POST whose account has an id (a detached entity for JPA persist)',
      method: 'POST',
      path: '/users',
      body: { ...newUser, account: { ...newUser.account, id: 777 } },
    },
    {
      name: 'a null in the news list',
      method: 'PUT',
      path: '/users/2',
      body: (api) => ({ ...userOf(api, 2), news: [null] }),
    },
    {
      name: 'a body not sent as JSON',
      method: 'PUT',
      path: '/users/2',
      body: (api) => JSON.stringify(userOf(api, 2)),
      headers: { 'content-type': 'text/plain' },
    },
  ])('answers 500 Unexpected server error. and stores nothing: $name', async ({ method, path: p, body, headers }) => {
    await withApi(async (api) => {
      const before = structuredClone([...api.users.values()]);
      const res = await call(api, method, p, body === undefined ? undefined : bodyFor(api, body), headers);
      expect([res.status, res.text, res.type]).toEqual([500, 'Unexpected server error.', textPlain]);
      expect([...api.users.values()]).toEqual(before);
    });
  });

  /** A body with `"BALANCE"` and `"LIMIT"` placeholders replaced by raw JSON number text. */
  const withNumbers = (api: BankApiSimulator, balance: string, limit: string): string =>
    JSON.stringify({ ...userOf(api, 2), account: { ...userOf(api, 2).account, balance: 'BALANCE', limit: 'LIMIT' } })
      .replace('"BALANCE"', balance)
      .replace('"LIMIT"', limit);
  test.each<{ name: string; method: string; body: Body; status: number; echoed: string[]; stored: string[] }>([
    {
      name: 'numbers sent as strings ("2", "12.345") are read as numbers',
      method: 'PUT',
      body: (api) => ({ ...userOf(api, 2), id: '2', account: { ...userOf(api, 2).account, balance: '12.345' } }),
      status: 200,
      echoed: ['{"id":2,', '"balance":12.345,'],
      stored: ['{"id":2,', '"balance":12.35,'],
    },
    {
      name: 'balances and limits are echoed as sent and stored with 2 decimals',
      method: 'PUT',
      body: (api) => withNumbers(api, '1000.5', '1e3'),
      status: 200,
      echoed: ['"balance":1000.5,', '"limit":1E+3}'],
      stored: ['"balance":1000.50,', '"limit":1000.00}'],
    },
    {
      name: 'stored balances are rounded half up',
      method: 'PUT',
      body: (api) => withNumbers(api, '0.005', '-0.005'),
      status: 200,
      echoed: ['"balance":0.005,', '"limit":-0.005}'],
      stored: ['"balance":0.01,', '"limit":-0.01}'],
    },
    {
      name: 'nulls are accepted and stored',
      method: 'PUT',
      body: (api) => ({
        ...userOf(api, 2),
        name: null,
        account: { ...userOf(api, 2).account, agency: null, balance: null },
        card: null,
        news: [{ icon: null, description: null }],
      }),
      status: 200,
      echoed: ['"name":null', '"agency":null,"balance":null', '"card":null', '"icon":null,"description":null'],
      stored: ['"name":null', '"agency":null,"balance":null', '"card":null', '"icon":null,"description":null'],
    },
    {
      name: 'PUT replaces the whole user: features and news left out are gone',
      method: 'PUT',
      body: (api) => ({ ...userOf(api, 2), features: undefined, news: [] }),
      status: 200,
      echoed: ['"features":[],"news":[]'],
      stored: ['"features":[],"news":[]'],
    },
    {
      name: 'POST without features or news stores them as []',
      method: 'POST',
      body: newUser,
      status: 201,
      echoed: ['"features":[],"news":[]', '"balance":10,'],
      stored: ['"features":[],"news":[]', '"balance":10.00,'],
    },
  ])('accepts what the original accepts: $name', async ({ method, body, status, echoed, stored }) => {
    await withApi(async (api) => {
      const res = await call(api, method, method === 'POST' ? '/users' : '/users/2', bodyFor(api, body));
      expect([res.status, res.type]).toEqual([status, 'application/json']);
      for (const part of echoed) expect(res.text).toContain(part);
      const { id } = JSON.parse(res.text) as { id: number };
      const got = await call(api, 'GET', `/users/${id}`);
      expect([got.status, got.type]).toEqual([200, 'application/json']);
      for (const part of stored) expect(got.text).toContain(part);
      // What GET returns is what the simulator holds.
      expect(JSON.parse(got.text)).toEqual(api.users.get(id));
    });
  });

  test.each<{ name: string; method: string; path: string }>([
    { name: 'GET /users/2/ (no trailing-slash match)', method: 'GET', path: '/users/2/' },
    { name: 'GET /users/', method: 'GET', path: '/users/' },
    { name: 'GET /accounts', method: 'GET', path: '/accounts' },
    { name: 'POST /users/2/news', method: 'POST', path: '/users/2/news' },
  ])('a path no controller maps answers the JSON 404 of Spring Boot: $name', async ({ method, path: p }) => {
    await withApi(async (api) => {
      const res = await call(api, method, p);
      expect([res.status, res.type]).toEqual([404, 'application/json']);
      const body = JSON.parse(res.text) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(['timestamp', 'status', 'error', 'path']);
      expect(body).toEqual({
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/) as unknown,
        status: 404,
        error: 'Not Found',
        path: p,
      });
    });
  });

  const preflight = (method: string) => ({ origin: 'http://example.com', 'access-control-request-method': method });
  test.each<{ name: string; method: string; path: string; headers: Record<string, string>; want: object }>([
    {
      name: 'a CORS preflight for PUT /users/2',
      method: 'OPTIONS',
      path: '/users/2',
      headers: { ...preflight('PUT'), 'access-control-request-headers': 'content-type' },
      want: {
        status: 200,
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'PUT',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '1800',
      },
    },
    {
      name: 'a CORS preflight for GET /users',
      method: 'OPTIONS',
      path: '/users',
      headers: preflight('GET'),
      want: { status: 200, 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET' },
    },
    {
      name: 'a CORS preflight for a method the path does not map',
      method: 'OPTIONS',
      path: '/users/2',
      headers: preflight('PATCH'),
      want: { status: 403, text: 'Invalid CORS request', 'access-control-allow-origin': null },
    },
    {
      name: 'a plain OPTIONS /users/2',
      method: 'OPTIONS',
      path: '/users/2',
      headers: {},
      want: { status: 200, allow: 'GET,HEAD,PUT,DELETE,OPTIONS', 'access-control-allow-origin': null },
    },
    {
      name: 'a plain OPTIONS /users',
      method: 'OPTIONS',
      path: '/users',
      headers: {},
      want: { status: 200, allow: 'GET,HEAD,POST,OPTIONS' },
    },
    {
      name: 'a cross-origin GET /users/2',
      method: 'GET',
      path: '/users/2',
      headers: { origin: 'http://example.com' },
      want: { status: 200, 'access-control-allow-origin': '*' },
    },
  ])('answers CORS as its @CrossOrigin controller does: $name', async ({ method, path: p, headers, want }) => {
    await withApi(async (api) => {
      const res = await call(api, method, p, undefined, headers);
      const got: Record<string, unknown> = { status: res.status };
      for (const key of Object.keys(want)) {
        if (key === 'text') got.text = res.text;
        else if (key !== 'status') got[key] = res.headers.get(key);
      }
      expect(got).toEqual(want);
    });
  });

  test.each<[string, (api: BankApiSimulator) => Promise<void>]>([
    [
      'a new user takes the next id of each table: users, accounts, cards, features and news',
      async (api) => {
        const next = (ids: (number | null | undefined)[]) => Math.max(...ids.map((id) => id ?? 0)) + 1;
        const users = [...api.users.values()];
        const res = await call(api, 'POST', '/users', {
          ...newUser,
          features: [{ icon: 'f', description: 'f' }],
          news: [{ icon: 'n', description: 'n' }],
        });
        expect(res.status).toBe(201);
        const created = JSON.parse(res.text) as Customer;
        expect([
          created.id,
          created.account!.id,
          created.card!.id,
          created.features![0]!.id,
          created.news![0]!.id,
        ]).toEqual([
          next(users.map((u) => u.id)),
          next(users.map((u) => u.account?.id)),
          next(users.map((u) => u.card?.id)),
          next(users.flatMap((u) => u.features!.map((f) => f.id))),
          next(users.flatMap((u) => u.news!.map((n) => n.id))),
        ]);
      },
    ],
    [
      'an account sent without an id, or with an unknown one, is a new row with a new id',
      async (api) => {
        const accountIds: unknown[] = [];
        for (const [id, number] of [
          [null, 'N-1'],
          [null, 'N-2'],
          [987, 'N-3'],
        ] as const) {
          const res = await call(api, 'PUT', '/users/2', { ...userOf(api, 2), account: { id, number } });
          accountIds.push((JSON.parse(res.text) as Customer).account!.id);
        }
        expect(accountIds).toEqual([61, 62, 63]);
        expect(api.users.get(2)!.account).toMatchObject({ id: 63, number: 'N-3' });
      },
    ],
    [
      'an unknown news id gets a new id; a known one keeps its id',
      async (api) => {
        const u4 = userOf(api, 4);
        const nextNews = Math.max(...[...api.users.values()].flatMap((u) => u.news!.map((n) => n.id!))) + 1;
        const res = await call(api, 'PUT', '/users/4', {
          ...u4,
          news: [...u4.news!, { id: 987654, icon: 'i', description: 'unknown id' }],
        });
        const news = (JSON.parse(res.text) as Customer).news!;
        expect(u4.news!.length).toBeGreaterThan(0);
        expect(news.map((n) => n.id)).toEqual([...u4.news!.map((n) => n.id), nextNews]);
        expect(api.users.get(4)!.news!.at(-1)).toEqual({ id: nextNews, icon: 'i', description: 'unknown id' });
      },
    ],
    [
      'a failed insert uses up a user id',
      async (api) => {
        const failed = await call(api, 'POST', '/users', { ...newUser, news: [{ description: 'x'.repeat(256) }] });
        expect(failed.status).toBe(500);
        const created = await call(api, 'POST', '/users', newUser);
        expect((JSON.parse(created.text) as Customer).id).toBe(62);
        expect(api.users.has(61)).toBe(false);
      },
    ],
    [
      'Location is an absolute URL',
      async (api) => {
        const created = await call(api, 'POST', '/users', newUser);
        expect([created.status, created.headers.get('location')]).toEqual([201, `${api.url}/users/61`]);
      },
    ],
    [
      'DELETE answers 204 and the user is gone',
      async (api) => {
        const res = await call(api, 'DELETE', '/users/2');
        expect([res.status, res.text, res.type]).toEqual([204, '', null]);
        expect((await call(api, 'GET', '/users/2')).status).toBe(404);
      },
    ],
  ])('numbers rows as its database does: %s', async (_name, run) => {
    await withApi(run);
  });

  test.each<{ accept: string; type: string }>([
    { accept: '*/*', type: textPlain },
    { accept: 'text/plain', type: textPlain },
    { accept: 'application/json', type: 'application/json' },
  ])('writes error text with the type Accept negotiates: $accept', async ({ accept, type }) => {
    await withApi(async (api) => {
      const res = await call(api, 'GET', '/users/404404', undefined, { accept });
      expect([res.status, res.text, res.type]).toEqual([404, 'Resource ID not found.', type]);
    });
  });

  const extended = (): Customer[] => {
    const users = seed();
    const u2 = users[1]!;
    users[1] = {
      ...u2,
      segment: 'private',
      account: { ...u2.account!, branch: { city: 'Recife' } },
      card: { ...u2.card!, brand: 'visa' },
      features: u2.features!.map((f) => ({ ...f, order: 1 })),
    };
    return users;
  };
  test.each<{ name: string; body?: Body; has: Record<string, unknown> }>([
    {
      name: 'GET returns the seeded user with its unknown fields, top level and nested',
      has: { segment: 'private', account: { branch: { city: 'Recife' } }, card: { brand: 'visa' } },
    },
    {
      name: 'PUT keeps the unknown fields it is sent',
      body: (api) => ({ ...userOf(api, 2), segment: 'retail', news: [{ icon: 'i', description: 'd', pinned: true }] }),
      has: { segment: 'retail', account: { branch: { city: 'Recife' } }, news: [{ pinned: true }] },
    },
  ])('keeps fields the schema does not know (a simulator extension): $name', async ({ body, has }) => {
    await withApi(async (api) => {
      if (body !== undefined) expect((await call(api, 'PUT', '/users/2', bodyFor(api, body))).status).toBe(200);
      const res = await call(api, 'GET', '/users/2');
      expect(JSON.parse(res.text)).toMatchObject(has);
      expect(JSON.parse(res.text)).toEqual(api.users.get(2));
    }, extended());
  });

  test('GET /users lists every user, by id', async () => {
    await withApi(async (api) => {
      await call(api, 'POST', '/users', newUser);
      const res = await call(api, 'GET', '/users');
      const list = JSON.parse(res.text) as Customer[];
      expect([res.status, res.type, list.length]).toEqual([200, 'application/json', 61]);
      expect(list.map((u) => u.id)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
    });
  });

  test('keeps its changes and id sequences in the state file, so they survive a restart', async () => {
    const stateFile = path.join(scratchDir(), 'bank.jsonl');
    const first = await startBankApi({ seed: seed(), stateFile });
    const user = first.users.get(7)!;
    const put = await call(first, 'PUT', '/users/7', {
      ...user,
      news: [...user.news!, { icon: 'i', description: 'kept' }],
    });
    expect(put.status).toBe(200);
    expect((await call(first, 'POST', '/users', { ...newUser, name: 'x'.repeat(256) })).status).toBe(500);
    await first.close();
    // Once the state file exists it is the whole state: the seed is not read again.
    const second = await startBankApi({ seed: [], stateFile });
    try {
      expect(second.users.get(7)!.news!.at(-1)).toMatchObject({ description: 'kept' });
      expect(second.users.size).toBe(60);
      const created = await call(second, 'POST', '/users', newUser);
      expect((JSON.parse(created.text) as Customer).id).toBe(62);
    } finally {
      await second.close();
    }
  });

  test('fault knobs: 500s in the original wording, 429 with Retry-After, broken JSON, each as configured', async () => {
    const api = await startBankApi({ seed: seed(), faults: { errorRate: 1 } });
    try {
      const failed = await call(api, 'GET', '/users/2');
      expect([failed.status, failed.text, failed.type]).toEqual([500, 'Unexpected server error.', textPlain]);
      Object.assign(api.faults, { errorRate: 0, rateLimitRate: 1, retryAfterSeconds: 3 });
      const limited = await fetch(`${api.url}/users/2`);
      expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '3']);
      Object.assign(api.faults, { rateLimitRate: 0, malformedRate: 1 });
      await expect((await fetch(`${api.url}/users/2`)).json()).rejects.toThrow();
    } finally {
      await api.close();
    }
  });

  test('hold: requests wait until released, then are answered as usual; later requests are not held', async () => {
    const api = await startBankApi({ seed: seed() });
    try {
      const release = api.hold();
      let answered = 0;
      const held = [2, 3].map((id) =>
        fetch(`${api.url}/users/${id}`).then((res) => {
          answered += 1;
          return res.status;
        }),
      );
      // However long the requests have had to arrive, none is answered while held.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect([answered, api.requests.GET]).toEqual([0, 0]);
      release();
      await expect(Promise.all(held)).resolves.toEqual([200, 200]);
      expect((await fetch(`${api.url}/users/4`)).status).toBe(200);
      expect(api.requests.GET).toBe(3);
      release(); // a second call changes nothing
    } finally {
      await api.close();
    }
  });

  test('refuses a fault rate outside 0 to 1', async () => {
    await expect(startBankApi({ seed: [], faults: { errorRate: 1.5 } })).rejects.toThrow(
      'errorRate must be a fraction from 0 to 1, got 1.5.',
    );
  });
});

describe('the LLM simulator', () => {
  test('--unique-replies words the same prompt differently each time, as a live model does', async () => {
    const llm = await startLlm({ faults: { uniqueReplies: true } });
    try {
      const ask = async (): Promise<string> => {
        const res = await fetch(`${llm.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-x' },
          body: JSON.stringify({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'Crie uma mensagem para "Ana" sobre a importância dos investimentos' }],
          }),
        });
        return ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
      };
      const replies = [await ask(), await ask(), await ask()];
      expect(new Set(replies).size).toBe(3);
      for (const reply of replies) expect(reply.startsWith('Ana, ')).toBe(true);
    } finally {
      await llm.close();
    }
  });

  test('lists a model and logs every request, to memory and to its log file', async () => {
    const logFile = path.join(scratchDir(), 'llm.jsonl');
    const llm = await startLlm({ logFile });
    try {
      const models = (await (await fetch(`${llm.baseURL}/models`)).json()) as { data: { id: string }[] };
      expect(models.data[0]!.id).toBe('gpt-4o-mini-simulated');
      const body = {
        model: 'x',
        messages: [{ role: 'user', content: 'Crie uma mensagem para Lia sobre a importância dos investimentos' }],
      };
      const answer = (await (
        await fetch(`${llm.baseURL}/chat/completions`, { method: 'POST', headers: json, body: JSON.stringify(body) })
      ).json()) as {
        choices: { message: { content: string } }[];
      };
      expect(answer.choices[0]!.message.content.startsWith('Lia, ')).toBe(true);
      const logged = (await (await fetch(`${llm.url}/_requests`)).json()) as { body: unknown }[];
      expect(logged.map((r) => r.body)).toEqual([body]);
      expect(
        readFileSync(logFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { body: unknown }).body),
      ).toEqual([body]);
    } finally {
      await llm.close();
    }
  });
});
