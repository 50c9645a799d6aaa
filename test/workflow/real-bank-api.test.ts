// The bank API as a real one behaves: it goes down for a minute and comes back, answers 500 for one customer's
// data while serving the others, holds nulls and fields our schema does not know, and refuses user 1.
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Customer } from '../../src/customer';
import { generateCustomers, startBankApi, type BankApiSimulator } from '../../src/simulators/bank-api';
import { close, listen } from '../../src/simulators/http';
import { progressQuery, type Progress } from '../../src/workflows/api';
import { byId, cliEnv, csvOf, scratchDir, sdwEtl, seed, startPipeline, writeCsv, type Pipeline } from '../helpers';
import { newRunId, runHandle, startRun } from '../../src/client';
import { defaultRunOptions } from '../../src/workflows/api';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A loopback server in front of the bank API simulator that answers as the test says: passes requests through,
 * or answers 503 to all of them (an outage), or 500 to one customer's PUT; it counts what it received.
 */
async function startSwitch(target: string): Promise<{
  url: string;
  mode: { down: boolean; failPutOf: number | null };
  requests: number[];
  close: () => Promise<void>;
}> {
  const mode = { down: false, failPutOf: null as number | null };
  const requests: number[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(Date.now());
    if (mode.down) return void res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
    if (req.method === 'PUT' && req.url === `/users/${mode.failPutOf}`)
      return void res.writeHead(500, { 'content-type': 'text/plain' }).end('Unexpected server error.');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      fetch(`${target}${req.url}`, {
        method: req.method,
        headers: { 'content-type': 'application/json' },
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      }).then(
        async (answer) =>
          res
            .writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' })
            .end(await answer.text()),
        () => res.writeHead(502).end(),
      );
    });
  });
  const url = await listen(server, 0);
  return { url, mode, requests, close: () => close(server) };
}

describe('the real bank API: outages ridden out, customers’ own problems theirs alone', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ offline: true });
  });
  afterAll(async () => {
    await pipeline.close();
  });

  const progressOf = (runId: string): Promise<Progress> => runHandle(pipeline.client, runId).query(progressQuery);
  async function waitFor(runId: string, check: (p: Progress) => boolean, what: string): Promise<Progress> {
    // A cap only stops a broken run from hanging the test; it is not a speed assumption.
    for (let i = 0; i < 1200; i++) {
      const p = await progressOf(runId).catch(() => undefined);
      if (p && check(p)) return p;
      await sleep(100);
    }
    throw new Error(`run ${runId} never showed ${what}`);
  }

  test('the API killed for 60 s mid-run and restarted on its state file: every customer loaded from the API', async () => {
    const dir = scratchDir();
    const stateFile = path.join(dir, 'bank.jsonl');
    const users = [...seed(), ...generateCustomers(300, 61)];
    // 50 ms a request and 5 customers in flight: the run cannot be done before the kill is seen.
    let api: BankApiSimulator = await startBankApi({ seed: users, stateFile, faults: { latencyMs: 50 } });
    const port = Number(new URL(api.url).port);
    const ids = Array.from({ length: 300 }, (_, i) => 61 + i);
    const runId = newRunId();
    const handle = await startRun(pipeline.client, pipeline.config.temporal.taskQueue, runId, {
      ...defaultRunOptions,
      input: writeCsv(dir, csvOf(ids)),
      output: path.join(dir, 'final.json'),
      apiUrl: api.url,
      concurrency: 5,
    });
    const before = await waitFor(runId, (p) => p.counts.loaded >= 30, '30 loaded');
    await api.close();
    expect(before.counts.loaded).toBeLessThan(300);
    const down = await waitFor(runId, (p) => p.bankApi.status === 'down', 'the API down');
    expect(down.bankApi.since).toEqual(expect.any(String));
    await sleep(60_000);
    const still = await progressOf(runId);
    expect(still.bankApi.status).toBe('down');
    const status = await sdwEtl(['status', runId], cliEnv(pipeline), dir);
    expect(status.stdout).toContain(`  bank API    down since ${down.bankApi.since} (`);
    expect(status.stdout).toContain('the run waits for it, up to 900 s, before its failure policies apply');
    expect(still.counts.fromMock + still.counts.failed + still.counts.skipped).toBe(0);
    api = await startBankApi({ port, seed: users, stateFile });
    try {
      const summary = await handle.result();
      expect(summary.counts).toMatchObject({ loaded: 300, fromMock: 0, failed: 0, skipped: 0 });
      expect(summary.bankApiOutages).toEqual([
        { since: down.bankApi.since, until: expect.any(String) as string, gaveUp: false },
      ]);
      for (const id of ids) expect(api.users.get(id)!.news).toHaveLength(1);
    } finally {
      await api.close();
    }
  }, 300_000);

  test('down longer than --api-outage-wait: the policies apply, and the report says the API was down', async () => {
    const sw = await startSwitch(pipeline.bankApi.url);
    sw.mode.down = true;
    try {
      const { summary, report } = await pipeline.run(csvOf([2, 3]), { apiUrl: sw.url, apiOutageWaitMs: 5_000 });
      expect(summary.counts).toMatchObject({ loaded: 0, fromMock: 2, skipped: 2 });
      for (const c of report.customers) {
        expect(c.stepErrors.fetch?.reason).toBe('api_down');
        expect(c.stepErrors.fetch?.message).toContain('The bank API answered no one from');
      }
      expect(summary.bankApiOutages).toEqual([{ since: expect.any(String) as string, until: null, gaveUp: true }]);
    } finally {
      await sw.close();
    }
  });

  test('probing during an outage is gentle whatever --concurrency is, and the run resumes when the API is back', async () => {
    const sw = await startSwitch(pipeline.bankApi.url);
    try {
      const ids = Array.from({ length: 29 }, (_, i) => i + 2); // 2 to 30: the tests below use others
      sw.mode.down = true;
      const running = pipeline.run(csvOf(ids), { apiUrl: sw.url, concurrency: 50, batchSize: 10 });
      await sleep(25_000);
      const outageStart = sw.requests[0]!;
      // After the first seconds (each customer in flight tries its own four times), only the run's probe asks.
      const late = sw.requests.filter((t) => t >= outageStart + 10_000 && t < outageStart + 25_000);
      expect(late.length).toBeLessThanOrEqual(15 * 2);
      sw.mode.down = false;
      const { summary } = await running;
      expect(summary.counts).toMatchObject({ loaded: ids.length, fromMock: 0, failed: 0 });
      expect(summary.bankApiOutages).toEqual([
        { since: expect.any(String) as string, until: expect.any(String) as string, gaveUp: false },
      ]);
    } finally {
      await sw.close();
    }
  }, 180_000);

  test('a 500 one customer’s load keeps getting while the API serves the others ends that customer with the API’s text', async () => {
    const sw = await startSwitch(pipeline.bankApi.url);
    sw.mode.failPutOf = 45;
    try {
      const { summary, report } = await pipeline.run(csvOf([44, 45, 46]), { apiUrl: sw.url });
      expect(summary.counts).toMatchObject({ loaded: 2, failed: 1 });
      const broken = byId(report.customers).get(45)!;
      expect(broken.error).toMatchObject({ reason: 'api_error' });
      expect(broken.error?.message).toContain('Unexpected server error.');
      expect(summary.bankApiOutages).toEqual([]);
    } finally {
      await sw.close();
    }
  });

  test('a null name gets the neutral greeting; a body that is not a user ends api_bad_data after one attempt', async () => {
    const api = pipeline.bankApi;
    api.users.set(47, { ...api.users.get(47)!, name: null });
    api.users.set(48, { id: 48, name: { first: 'Ana' }, account: 'none' } as unknown as Customer);
    const { report } = await pipeline.run(csvOf([47, 48]));
    const [named, broken] = [byId(report.customers).get(47)!, byId(report.customers).get(48)!];
    expect(named).toMatchObject({ status: 'loaded', source: 'api' });
    expect(named.message).toMatch(/^Cliente,/);
    expect(broken).toMatchObject({ status: 'failed', source: null, error: { reason: 'api_bad_data' } });
    expect(broken.attempts.fetch).toBe(1);
    expect(broken.error?.message).toContain('not an SDW2023 user');
  });

  test('fields the schema does not know, top level and nested, are kept byte for byte; only news changes', async () => {
    const api = pipeline.bankApi;
    const extras = {
      segment: 'private',
      tags: ['a', { b: null }],
      preferences: { channel: 'app', quiet: [22, 7], nested: { deep: true } },
    };
    const user = api.users.get(49)!;
    const seeded = { ...user, ...extras, account: { ...user.account, iban: 'BR15 0000 0000 0000 0000 0000 0' } };
    api.users.set(49, seeded);
    const { report } = await pipeline.run(csvOf([49]));
    expect(report.customers[0]).toMatchObject({ status: 'loaded' });
    const after = api.users.get(49)!;
    const { news: newsAfter, ...restAfter } = after;
    const { news: newsBefore, ...restBefore } = seeded;
    expect(JSON.stringify(restAfter)).toBe(JSON.stringify(restBefore));
    expect(newsAfter).toHaveLength((newsBefore ?? []).length + 1);
  });
});
