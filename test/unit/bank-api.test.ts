import { createFileStore } from '../../src/activities/store/files';
import { createActivities } from '../../src/activities';
import * as bankApi from '../../src/activities/bank-api';
import { failureTypes } from '../../src/failures';
import { newsIcon } from '../../src/personalize';
import { startBankApi, type BankApiSimulator } from '../../src/simulators/bank-api';
import { createServer, type Server } from 'node:http';
import { close, listen } from '../../src/simulators/http';
import { activityEnv, failureOf, scratchDir, seed, downUrl, scratchFolders } from '../helpers';

describe('fetchCustomer and loadCustomer against the bank API simulator', () => {
  let api: BankApiSimulator;
  const { fetchCustomer, loadCustomer } = createActivities({
    store: createFileStore(scratchDir()),
    apiUrl: 'http://127.0.0.1:1',
    llm: undefined,
    folders: scratchFolders(),
  });
  const env = activityEnv({ attempt: 3 });
  beforeAll(async () => {
    api = await startBankApi({ seed: seed() });
  });
  afterAll(async () => {
    await api.close();
  });
  beforeEach(() => {
    Object.assign(api.faults, { errorRate: 0, rateLimitRate: 0, malformedRate: 0, resetRate: 0 });
  });

  test('fetches a customer in the SDW2023 schema and reports the attempt it took', async () => {
    const { customer, attempt } = await env.run(fetchCustomer, { apiUrl: api.url, id: 2 });
    expect(customer).toEqual(api.users.get(2));
    expect(attempt).toBe(3);
  });

  test('uses the worker’s configured API when the run names none', async () => {
    const { fetchCustomer: fetchDefault } = createActivities({
      store: createFileStore(scratchDir()),
      apiUrl: api.url,
      llm: undefined,
      folders: scratchFolders(),
    });
    const { customer } = await env.run(fetchDefault, { apiUrl: undefined, id: 3 });
    expect(customer.id).toBe(3);
  });

  test('a 404 is final: CustomerNotFound, not retried', async () => {
    const failure = await failureOf(env.run(fetchCustomer, { apiUrl: api.url, id: 4040 }));
    expect(failure).toMatchObject({ type: failureTypes.customerNotFound, nonRetryable: true });
    expect(failure.message).toContain('Resource ID not found.');
  });

  test('a 500 is a retryable server error', async () => {
    api.faults.errorRate = 1;
    const failure = await failureOf(env.run(fetchCustomer, { apiUrl: api.url, id: 2 }));
    expect(failure).toMatchObject({ type: failureTypes.apiServerError, nonRetryable: false });
    expect(failure.message).toContain('500');
  });

  test('a 429 is retryable after the Retry-After the API asked for', async () => {
    api.faults.rateLimitRate = 1;
    const failure = await failureOf(env.run(fetchCustomer, { apiUrl: api.url, id: 2 }));
    expect(failure).toMatchObject({ type: failureTypes.apiRateLimited, nonRetryable: false, nextRetryDelay: 1000 });
  });

  test('a broken JSON body and a reset connection are retryable', async () => {
    api.faults.malformedRate = 1;
    expect(await failureOf(env.run(fetchCustomer, { apiUrl: api.url, id: 2 }))).toMatchObject({
      type: failureTypes.apiUnavailable,
      nonRetryable: false,
      message: 'GET customer 2: the bank API sent a body that is not JSON.',
    });
    Object.assign(api.faults, { malformedRate: 0, resetRate: 1 });
    expect(await failureOf(env.run(fetchCustomer, { apiUrl: api.url, id: 2 }))).toMatchObject({
      type: failureTypes.apiUnavailable,
      nonRetryable: false,
    });
  });

  test('an API that is down is retryable and says it did not answer', async () => {
    const failure = await failureOf(env.run(fetchCustomer, { apiUrl: await downUrl(), id: 2 }));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe('GET customer 2: the bank API did not answer (ECONNREFUSED).');
  });

  test('loads a message once: a second load of the same message changes nothing', async () => {
    const before = api.users.get(5)!.news!.length;
    const first = await env.run(bankApi.loadCustomer, api.url, 5, 'Olá, invista!');
    const again = await env.run(bankApi.loadCustomer, api.url, 5, 'Olá, invista!');
    expect(first.appended).toBe(true);
    expect(again.appended).toBe(false);
    const news = api.users.get(5)!.news!;
    expect(news).toHaveLength(before + 1);
    expect(news.at(-1)).toEqual({ id: expect.any(Number) as number, icon: newsIcon, description: 'Olá, invista!' });
    expect(again.customer).toEqual(api.users.get(5));
  });

  test('the load step delivers to the bank API sink and reports the attempt it took', async () => {
    const customer = api.users.get(6)!;
    const loaded = await env.run(loadCustomer, {
      sink: 'both',
      apiUrl: api.url,
      id: 6,
      message: 'Oi Seis, invista!',
      customer,
      source: 'api',
    });
    expect(loaded).toMatchObject({ status: 'loaded', wrote: true, attempt: 3 });
    expect(loaded.customer).toEqual(api.users.get(6));
    expect(api.users.get(6)!.news!.at(-1)?.description).toBe('Oi Seis, invista!');
  });

  test('a mock record is never loaded into the bank, and the file sink alone calls nothing', async () => {
    const mock = { ...api.users.get(7)!, name: 'Cliente 7' };
    const requests = api.requests.GET + api.requests.PUT;
    const delivery = { apiUrl: await downUrl(), id: 7, message: 'Oi', customer: mock };
    const skipped = await env.run(loadCustomer, { ...delivery, sink: 'api', source: 'mock' });
    expect(skipped).toMatchObject({ status: 'skipped', attempt: 0, error: { reason: 'mock_not_loaded' } });
    const filed = await env.run(loadCustomer, { ...delivery, sink: 'file', source: 'api' });
    expect(filed).toMatchObject({ status: 'loaded', attempt: 0, customer: mock });
    expect(api.requests.GET + api.requests.PUT).toBe(requests);
  });

  test('loading user 1 is refused with the API’s 422 reason, final', async () => {
    const user1 = api.users.get(1)!;
    const failure = await failureOf(
      env.run(loadCustomer, { sink: 'api', apiUrl: api.url, id: 1, message: 'Oi', customer: user1, source: 'api' }),
    );
    expect(failure).toMatchObject({ type: failureTypes.apiRejected, nonRetryable: true });
    expect(failure.message).toBe('PUT customer 1: the bank API refused it (422 User with ID 1 can not be updated.).');
  });

  test('a kept-alive connection the API closed while idle is not an error: the next request opens another', async () => {
    // Tomcat and Node close an idle connection after a while; here after 50 ms, each request after 200 ms.
    const user = api.users.get(1)!;
    const brief = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...user, id: Number(req.url!.split('/').pop()) }));
    });
    brief.keepAliveTimeout = 50;
    const connections: unknown[] = [];
    brief.on('connection', (socket) => connections.push(socket));
    const url = await listen(brief, 0);
    try {
      for (const id of [2, 3, 4]) {
        const { customer } = await env.run(fetchCustomer, { apiUrl: url, id });
        expect(customer.id).toBe(id);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(connections).toHaveLength(3);
    } finally {
      await close(brief);
    }
  });

  describe('hostile answers', () => {
    let hostile: Server;
    let url: string;
    let bytesSent = 0;
    beforeAll(async () => {
      hostile = createServer((req, res) => {
        if (req.url === '/users/2') {
          // Valid JSON, wrong schema.
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ id: 2, name: 5 }));
        }
        if (req.url === '/users/3') {
          // A 50 MB body, sent in chunks without a length.
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(64 * 1024, 'a');
          let left = 800;
          const push = (): void => {
            while (left > 0 && !res.destroyed) {
              left -= 1;
              bytesSent += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', push);
            }
            res.end();
          };
          return push();
        }
        if (req.url === '/users/4') {
          res.writeHead(302, { location: '/users/4' });
          return void res.end();
        }
        if (req.url === '/users/5') return void res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden');
        if (req.url === '/users/6') return void res.writeHead(408, { 'content-type': 'text/plain' }).end('Timeout');
        if (req.url === '/users/7') {
          // What the real API stores and returns: nulls, and fields this schema does not know.
          res.writeHead(200, { 'content-type': 'application/json' });
          const user = { id: 7, name: null, account: null, card: { id: 3, number: null, limit: null, pin: 'x' } };
          return void res.end(JSON.stringify({ ...user, features: [], news: [], segment: { tier: 'gold' } }));
        }
        res.writeHead(404);
        res.end();
      });
      url = await listen(hostile, 0);
    });
    afterAll(async () => {
      await close(hostile);
    });

    test('a body that does not fit the SDW2023 schema is the customer’s bad data: final, saying what is wrong', async () => {
      const failure = await failureOf(env.run(fetchCustomer, { apiUrl: url, id: 2 }));
      expect(failure).toMatchObject({ type: failureTypes.apiBadData, nonRetryable: true });
      expect(failure.message).toMatch(/^GET customer 2: the bank API's answer is not an SDW2023 user \(name: /);
    });

    test('a 50 MB body is cut off at 1 MiB, not held in memory', async () => {
      const failure = await failureOf(env.run(fetchCustomer, { apiUrl: url, id: 3 }));
      expect(failure).toMatchObject({ type: failureTypes.apiBadData, nonRetryable: true });
      expect(failure.message).toBe("GET customer 3: the bank API's answer is over the 1048576-byte limit.");
      expect(bytesSent).toBeLessThan(10 * 1024 * 1024);
    });

    test('a redirect loop is not followed: a retryable failure naming the status', async () => {
      const failure = await failureOf(env.run(fetchCustomer, { apiUrl: url, id: 4 }));
      expect(failure).toMatchObject({ nonRetryable: false, message: 'GET customer 4: the bank API answered 302' });
    });

    test('a 4xx other than 404, 408 and 429 is final; a 408 is asked again', async () => {
      const forbidden = await failureOf(env.run(fetchCustomer, { apiUrl: url, id: 5 }));
      expect(forbidden).toMatchObject({ type: failureTypes.apiRejected, nonRetryable: true });
      expect(forbidden.message).toBe('GET customer 5: the bank API refused it (403 Forbidden).');
      const timedOut = await failureOf(env.run(fetchCustomer, { apiUrl: url, id: 6 }));
      expect(timedOut).toMatchObject({ type: failureTypes.apiUnavailable, nonRetryable: false });
    });

    test('nulls the real API stores are read as what they are, and unknown fields are kept', async () => {
      const { customer } = await env.run(fetchCustomer, { apiUrl: url, id: 7 });
      expect(customer).toEqual({
        id: 7,
        name: null,
        account: null,
        card: { id: 3, number: null, limit: null, pin: 'x' },
        features: [],
        news: [],
        segment: { tier: 'gold' },
      });
    });

    test('an API that never answers is cut at the request timeout', async () => {
      api.faults.hangRate = 1;
      try {
        const failure = await failureOf(env.run(fetchCustomer, { apiUrl: api.url, id: 2 }));
        expect(failure.message).toBe('GET customer 2: the bank API did not answer (no answer within 10000 ms).');
      } finally {
        api.faults.hangRate = 0;
      }
    }, 20_000);
  });
});
