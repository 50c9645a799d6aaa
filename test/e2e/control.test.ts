import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { reportPathFor } from '../../src/report';
import { newRunId, runHandle, runOptionsOf, startRun } from '../../src/client';
import type { RunReport } from '../../src/report';
import type { CustomerOutcome } from '../../src/outcomes';
import { defaultRunOptions, progressQuery, type Progress, type RunOptions } from '../../src/workflows/api';
import { batchPlan } from '../../src/workflows/lanes';
import { startBankApi } from '../../src/simulators/bank-api';
import { cliEnv, csvOf, downUrl, sdwEtl, seed, startPipeline, writeCsv, type Pipeline } from '../helpers';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('controlling a run: status, pause, resume, cancel, retry-failed', () => {
  let pipeline: Pipeline;
  let env: Record<string, string>;
  /** Lets the held bank API answer again; a no-op once called. */
  let release: () => void = () => undefined;
  beforeAll(async () => {
    pipeline = await startPipeline({ offline: true, customers: 400 });
    env = cliEnv(pipeline);
  });
  afterAll(async () => {
    await pipeline.close();
  });
  afterEach(() => {
    release(); // a test that failed while the bank API was held leaves nothing waiting
  });

  // Two customers at a time: batches of min(batchSize, concurrency) = 2 customers, each keeping one in flight (a
  // list of three or more takes two waves a batch), so two batches (the first four customers) are open at once
  // (src/workflows/lanes.ts batchPlan).
  const concurrency = 2;
  const openBatchesHold = 4;

  /**
   * Starts a run of two customers at a time with the bank API held, so no customer can finish until the test
   * releases it, and returns once both open batches have a customer in flight.
   */
  async function startHeldRun(ids: number[], more: Partial<RunOptions> = {}) {
    expect(batchPlan({ ...defaultRunOptions, concurrency }, ids.length)).toMatchObject({
      size: 2,
      window: 1,
      lanes: 2,
    });
    release = pipeline.bankApi.hold();
    const runId = newRunId();
    const output = path.join(pipeline.dir, `${runId}.json`);
    const handle = await startRun(pipeline.client, pipeline.config.temporal.taskQueue, runId, {
      ...defaultRunOptions,
      input: writeCsv(pipeline.dir, csvOf(ids), `${runId}.csv`),
      output,
      apiUrl: pipeline.bankApi.url,
      concurrency,
      ...more,
    });
    const started = await waitFor(runId, (p) => p.inFlight === concurrency);
    expect(done(started)).toBe(0);
    return { runId, output, handle };
  }
  const progressOf = (runId: string, on = pipeline): Promise<Progress> =>
    runHandle(on.client, runId).query(progressQuery);
  const done = (p: Progress): number => p.counts.loaded + p.counts.skipped + p.counts.failed;
  /** Polls the run's progress until `check` holds; the cap only stops a broken run from hanging the suite. */
  async function waitFor(runId: string, check: (p: Progress) => boolean, on = pipeline): Promise<Progress> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const p = await progressOf(runId, on);
      if (check(p)) return p;
      if (Date.now() > deadline) throw new Error(`run ${runId} never reached the expected progress`);
      await sleep(100);
    }
  }

  test('pause holds new customers while those in flight finish; status shows it; resume finishes the run', async () => {
    const ids = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const { runId, handle } = await startHeldRun(ids);
    const paused = await sdwEtl(['pause', runId], env, pipeline.dir);
    expect([paused.code, paused.stdout.trim()]).toEqual([
      0,
      `Run ${runId} paused: no new batch of customers starts; the open batches finish. Resume with sdw-etl resume ${runId}.`,
    ]);
    // The pause is in the run's history before any customer could finish: the two open batches finish, and no
    // batch starts after them.
    release();
    // Settled: no open batch left (a batch's customers are counted once it has saved their records).
    const settled = await waitFor(runId, (p) => p.inFlightIds.length === 0);
    expect(settled.inFlight).toBe(0);
    expect(settled.state).toBe('paused');
    expect(done(settled)).toBe(openBatchesHold);
    expect(settled.counts.loaded).toBe(openBatchesHold);
    expect(done(settled)).toBeLessThan(ids.length);

    const status = await sdwEtl(['status', runId], env, pipeline.dir);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Run ${runId}: paused`);
    expect(status.stdout).toMatch(new RegExp(`done +${done(settled)} \\(${settled.counts.loaded} loaded`));
    // Still paused once the status command is done: nothing started meanwhile.
    const still = await progressOf(runId);
    expect([still.state, still.inFlight, done(still)]).toEqual(['paused', 0, openBatchesHold]);

    expect((await sdwEtl(['resume', runId], env, pipeline.dir)).code).toBe(0);
    const summary = await handle.result();
    expect(summary.counts.loaded).toBe(ids.length);
  });

  test('cancel lets the customers in flight finish, exports and reports what was done, and keeps its loads', async () => {
    const ids = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
    const { runId, output, handle } = await startHeldRun(ids);
    const cancelled = await sdwEtl(['cancel', runId], env, pipeline.dir);
    expect(cancelled.code).toBe(0);
    // The cancellation is in the run's history before any customer could finish: the two open batches finish.
    release();
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);

    const report = JSON.parse(readFileSync(reportPathFor(output, runId), 'utf8')) as {
      state: string;
      counts: { loaded: number; failed: number; notProcessed: number };
      customers: CustomerOutcome[];
    };
    expect(report.state).toBe('cancelled');
    expect(report.customers.map((c) => c.id)).toEqual(ids);
    const loaded = report.customers.filter((c) => c.status === 'loaded');
    // Never reached: a status of their own, not failed.
    const notReached = report.customers.filter((c) => c.status === 'not_processed');
    expect(report.counts).toMatchObject({ failed: 0, notProcessed: ids.length - openBatchesHold });
    expect(loaded.map((c) => c.id)).toEqual(ids.slice(0, openBatchesHold));
    expect(notReached.map((c) => c.id)).toEqual(ids.slice(openBatchesHold));
    expect(loaded.length + notReached.length).toBe(ids.length);
    expect(notReached[0]!.error!.message).toBe('The run was cancelled before this customer was processed.');
    for (const c of loaded) {
      expect(pipeline.bankApi.users.get(c.id)!.news!.some((n) => n.description === c.message)).toBe(true);
    }
    const exported = JSON.parse(readFileSync(output, 'utf8')) as { id: number }[];
    expect(exported.map((u) => u.id)).toEqual(loaded.map((c) => c.id));

    // Rebuilt from Temporal (and the CSV, for the customers the run never reached), the report says the same.
    const rebuilt = await sdwEtl(['report', runId, '--format', 'json'], env, pipeline.dir);
    expect(rebuilt.code).toBe(0);
    const fromTemporal = JSON.parse(rebuilt.stdout) as RunReport;
    expect(fromTemporal.state).toBe('cancelled');
    expect(fromTemporal.customers).toEqual(report.customers);
    expect(fromTemporal.counts).toEqual(report.counts);
  });

  test('retry-failed of a cancelled run retries the customers it never reached: every customer ends with one message', async () => {
    // Pages of 100: the cancel leaves most of the first page without a batch, and the two pages after it unread.
    const ids = Array.from({ length: 300 }, (_, i) => 100 + i);
    const newsBefore = new Map(ids.map((id) => [id, pipeline.bankApi.users.get(id)!.news?.length ?? 0]));
    const { runId, output, handle } = await startHeldRun(ids, { pageSize: 100 });
    expect((await sdwEtl(['cancel', runId], env, pipeline.dir)).code).toBe(0);
    release();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);

    const retryId = `${runId}-retry`;
    const retried = await sdwEtl(['retry-failed', runId, '--id', retryId], env, pipeline.dir);
    expect(retried.stdout).toContain(
      `Run ${retryId} retries ${ids.length - openBatchesHold} customers of run ${runId}.`,
    );
    expect(retried.code).toBe(0);
    const report = JSON.parse(readFileSync(reportPathFor(output, retryId), 'utf8')) as RunReport;
    expect(report.customers.map((c) => c.id)).toEqual(ids.slice(openBatchesHold));
    expect(report.counts).toMatchObject({ loaded: ids.length - openBatchesHold, failed: 0, notProcessed: 0 });
    // Each customer of the list got exactly one message: from the cancelled run or from its retry.
    const added = ids.filter((id) => pipeline.bankApi.users.get(id)!.news!.length !== newsBefore.get(id)! + 1);
    expect(added).toEqual([]);

    // With its CSV gone (and no shared store), the customers the run never reached cannot be listed: said, not dropped.
    const { input } = await runOptionsOf(runHandle(pipeline.client, runId));
    rmSync(input);
    const rebuilt = await sdwEtl(['report', runId], env, pipeline.dir);
    expect([rebuilt.code, rebuilt.stderr]).toEqual([
      1,
      `sdw-etl: Run ${runId} stopped before reading all its rows, and the customers it never reached cannot be listed here: its input file ${input} is gone or cannot be read.\n`,
    ]);
  });

  test('with a shared store, retry-failed of a cancelled run retries the customers it never reached from the stored rows, its CSV gone', async () => {
    const databaseUrl = process.env.SDW_TEST_DATABASE_URL!;
    const shared = await startPipeline({ offline: true, customers: 400, databaseUrl });
    const sharedEnv = { ...cliEnv(shared), SDW_DATABASE_URL: databaseUrl };
    try {
      const ids = Array.from({ length: 150 }, (_, i) => 200 + i);
      const newsBefore = new Map(ids.map((id) => [id, shared.bankApi.users.get(id)!.news?.length ?? 0]));
      release = shared.bankApi.hold();
      const runId = newRunId();
      // A campaign of its own: the shared store outlives this test file.
      const csv = writeCsv(shared.dir, csvOf(ids), `${runId}.csv`);
      const output = path.join(shared.dir, 'final.json');
      const flags = ['--page-size', '50', '--concurrency', String(concurrency), '--id', runId, '--detach'];
      const started = await sdwEtl(['run', '--input', csv, '--output', output, ...flags], sharedEnv, shared.dir);
      expect(started.code).toBe(0);
      await waitFor(runId, (p) => p.inFlight === concurrency, shared);
      expect((await sdwEtl(['cancel', runId], sharedEnv, shared.dir)).code).toBe(0);
      release();
      await expect(runHandle(shared.client, runId).result()).rejects.toBeInstanceOf(WorkflowFailedError);
      rmSync(csv); // the rows are in the shared store

      const retryId = `${runId}-retry`;
      const retried = await sdwEtl(['retry-failed', runId, '--id', retryId], sharedEnv, shared.dir);
      expect(retried.stdout).toContain(
        `Run ${retryId} retries ${ids.length - openBatchesHold} customers of run ${runId}.`,
      );
      expect(retried.code).toBe(0);
      const added = ids.filter((id) => shared.bankApi.users.get(id)!.news!.length !== newsBefore.get(id)! + 1);
      expect(added).toEqual([]);
    } finally {
      release();
      await shared.close();
    }
  });

  test('retry-failed runs again only the customers that ended skipped, failed or from mock, beside the first export', async () => {
    const input = writeCsv(pipeline.dir, csvOf([26, 27, 28]), 'retry.csv');
    const output = path.join(pipeline.dir, 'retry-final.json');
    const apiUrl = await downUrl();
    const first = await sdwEtl(
      [
        'run',
        '--input',
        input,
        '--output',
        output,
        '--api-url',
        apiUrl,
        '--api-outage-wait',
        '2s',
        '--id',
        'first-try',
      ],
      env,
      pipeline.dir,
    );
    expect(first.code).toBe(2);
    expect(first.stdout).toMatch(/from mock +3/);

    // The API comes back where it was; the retry reuses the first run's options.
    const back = await startBankApi({ seed: seed(), port: Number(new URL(apiUrl).port) });
    try {
      const retried = await sdwEtl(['retry-failed', 'first-try', '--id', 'second-try'], env, pipeline.dir);
      expect(retried.stdout).toContain('Run second-try retries 3 customers of run first-try.');
      expect(retried.code).toBe(0);
      const report = JSON.parse(readFileSync(reportPathFor(output, 'second-try'), 'utf8')) as {
        retryOf: string;
        customers: CustomerOutcome[];
      };
      expect(report.retryOf).toBe('first-try');
      expect(report.customers.map((c) => [c.id, c.status, c.source])).toEqual([
        [26, 'loaded', 'api'],
        [27, 'loaded', 'api'],
        [28, 'loaded', 'api'],
      ]);
      for (const c of report.customers) expect(back.users.get(c.id)!.news!.at(-1)?.description).toBe(c.message);
      // The first run's export is untouched; the retry's sits beside it.
      expect((JSON.parse(readFileSync(output, 'utf8')) as { name: string }[]).map((u) => u.name)).toEqual([
        'Cliente 26',
        'Cliente 27',
        'Cliente 28',
      ]);
      expect(JSON.parse(readFileSync(path.join(pipeline.dir, 'second-try.retry-final.json'), 'utf8'))).toHaveLength(3);

      // The audit commands tell the same story from Temporal.
      const runs = await sdwEtl(['runs', '--since', '1h', '--limit', '1000'], env, pipeline.dir);
      expect(runs.code).toBe(0);
      expect(runs.stdout).toMatch(/second-try +\S+ +completed +3 +0 +0/);
      expect(runs.stdout).toMatch(/first-try +\S+ +completed +0 +3 +0/);
      const story = await sdwEtl(['customer', 'first-try', '26'], env, pipeline.dir);
      expect(story.code).toBe(2);
      expect(story.stdout).toContain('Customer 26 in run first-try: skipped (CSV line 2)');
      expect(story.stdout).toContain('data      mock (the API did not answer; mock record)');
      expect(story.stdout).toContain('reason    mock_not_loaded');
      // Each step: its attempts, its time, and the error it ended with when its retries ran out.
      expect(story.stdout).toMatch(/ {2}fetch {5}4 attempts, \d+ ms, ended api_down: /);
      expect(story.stdout).toMatch(/ {2}write {5}1 attempt, \d+ ms\n/);
      expect(story.stdout).toContain('  load      not run\n');
      const loaded = await sdwEtl(['customer', 'second-try', '26'], env, pipeline.dir);
      expect(loaded.code).toBe(0);
      expect(loaded.stdout).toContain('Customer 26 in run second-try: loaded');

      // The same run retried again: refused, naming the earlier retry, unless asked for --again.
      const twice = await sdwEtl(['retry-failed', 'first-try'], env, pipeline.dir);
      expect([twice.code, twice.stderr.trim()]).toEqual([
        1,
        'sdw-etl: Run first-try was already retried by run second-try (sdw-etl report second-try); add --again to retry its customers once more.',
      ]);
      const newsBefore = [26, 27, 28].map((id) => back.users.get(id)!.news!.length);
      const again = await sdwEtl(['retry-failed', 'first-try', '--again', '--id', 'third-try'], env, pipeline.dir);
      expect([again.code, again.stdout]).toEqual([
        0,
        expect.stringContaining('Run third-try retries 3 customers of run first-try.'),
      ]);
      // Asked for again, the same customers are sent nothing twice: the campaign's message is in their news already.
      const third = JSON.parse(readFileSync(reportPathFor(output, 'third-try'), 'utf8')) as RunReport;
      expect(third.customers.map((c) => [c.id, c.status])).toEqual([
        [26, 'already_loaded'],
        [27, 'already_loaded'],
        [28, 'already_loaded'],
      ]);
      expect([26, 27, 28].map((id) => back.users.get(id)!.news!.length)).toEqual(newsBefore);

      const nothingLeft = await sdwEtl(['retry-failed', 'second-try'], env, pipeline.dir);
      expect([nothingLeft.code, nothingLeft.stdout.trim()]).toEqual([
        0,
        'Every customer of run second-try ended loaded from real data: nothing to retry.',
      ]);
    } finally {
      await back.close();
    }
  });

  test('the commands refuse a run that does not exist, in one sentence', async () => {
    const ran = await sdwEtl(['pause', 'no-such-run'], env, pipeline.dir);
    expect([ran.code, ran.stderr.trim()]).toEqual([1, 'sdw-etl: No run with id no-such-run exists.']);
    const story = await sdwEtl(['customer', 'no-such-run', '9'], env, pipeline.dir);
    expect([story.code, story.stderr.trim()]).toEqual([1, 'sdw-etl: Run no-such-run has no customer 9.']);
  });

  test('runs lists cancelled runs by state and refuses a bad --since in one sentence', async () => {
    const canceled = await sdwEtl(['runs', '--status', 'canceled', '--limit', '1000'], env, pipeline.dir);
    expect(canceled.code).toBe(0);
    expect(canceled.stdout).toMatch(/ cancelled /); // the run cancelled above
    expect(
      canceled.stdout
        .split('\n')
        .slice(1)
        .every((line) => line === '' || / cancelled /.test(line)),
    ).toBe(true);
    const bad = await sdwEtl(['runs', '--since', 'yesterday'], env, pipeline.dir);
    expect([bad.code, bad.stderr.trim()]).toEqual([
      1,
      'sdw-etl: --since takes a date (2026-11-01) or an age (90m, 24h, 7d), got "yesterday".',
    ]);
  });
});
