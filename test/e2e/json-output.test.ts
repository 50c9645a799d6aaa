// Output for scripts and for people who want less: --json prints one JSON document with the usual exit codes,
// --quiet only the summary, and status --watch follows a run started elsewhere to its summary.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cliEnv, csvOf, sdwEtl, startPipeline, writeCsv, type Pipeline } from '../helpers';

describe('output for scripts', () => {
  let pipeline: Pipeline;
  let env: Record<string, string>;
  beforeAll(async () => {
    // Each message takes a moment, so a run of the seed's customers one at a time lasts over ten seconds.
    pipeline = await startPipeline({ llmFaults: { latencyMs: 200 } });
    env = { ...cliEnv(pipeline), OPENAI_BASE_URL: pipeline.llm.baseURL };
  });
  afterAll(async () => {
    await pipeline.close();
  });

  test('run, customer, status and runs with --json: one document each, the same exit codes', async () => {
    const input = writeCsv(pipeline.dir, csvOf([8, 1]), 'json.csv');
    const folder = path.join(pipeline.dir, 'json-out');
    const args = ['--input', input, '--output', path.join(folder, 'out.json'), '--id', 'e2e-json', '--json'];
    const ran = await sdwEtl(['run', ...args], env, pipeline.dir);
    expect(ran.code).toBe(2); // customer 1 cannot be updated: failed
    expect(ran.stderr).toBe(`Created the output folder ${folder}.\n`);
    const run = JSON.parse(ran.stdout) as Record<string, unknown> & { counts: Record<string, number> };
    expect(run).toMatchObject({
      runId: 'e2e-json',
      state: 'completed',
      exitCode: 2,
      exportPath: path.join(folder, 'out.json'),
      reportPath: path.join(folder, 'e2e-json.report.json'),
      webUiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/e2e-json',
      counts: { rows: 2, loaded: 1, skipped: 0, failed: 1 },
    });
    expect(existsSync(run.reportPath as string)).toBe(true);

    const customer = await sdwEtl(['customer', 'e2e-json', '1', '--json'], env, pipeline.dir);
    expect(customer.code).toBe(2);
    expect(JSON.parse(customer.stdout)).toMatchObject({
      runId: 'e2e-json',
      customerId: 1,
      exitCode: 2,
      outcome: { id: 1, status: 'failed', error: { reason: 'api_rejected' } },
    });

    const status = await sdwEtl(['status', 'e2e-json', '--json'], env, pipeline.dir);
    expect([status.code, JSON.parse(status.stdout)]).toEqual([
      0,
      {
        runId: 'e2e-json',
        status: 'completed',
        progress: null,
        why: null,
        reportPath: run.reportPath,
        webUiUrl: run.webUiUrl,
      },
    ]);

    const runs = await sdwEtl(['runs', '--json', '--limit', '1000'], env, pipeline.dir);
    expect(runs.code).toBe(0);
    const listed = (JSON.parse(runs.stdout) as { runs: Record<string, unknown>[] }).runs.find(
      (r) => r.runId === 'e2e-json',
    );
    expect(listed).toMatchObject({ runId: 'e2e-json', status: 'completed', counts: run.counts });
    expect([listed?.startedAt, listed?.endedAt]).toEqual([
      expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
    ]);

    const missing = await sdwEtl(['status', 'no-such-run', '--json'], env, pipeline.dir);
    expect([missing.code, missing.stdout, missing.stderr]).toEqual([
      1,
      '',
      'sdw-etl: No run with id no-such-run exists.\n',
    ]);
  });

  test('a detached run: its id as JSON, its progress with status --json, and status --watch to its summary', async () => {
    const ids = Array.from({ length: 59 }, (_, i) => i + 2); // the seed's customers but 1, which cannot be updated
    const input = writeCsv(pipeline.dir, csvOf(ids), 'watch.csv');
    const output = path.join(pipeline.dir, 'watch.json');
    const common = ['--input', input, '--output', output, '--id', 'e2e-watch', '--concurrency', '1'];
    const started = await sdwEtl(['run', ...common, '--detach', '--json'], env, pipeline.dir);
    expect([started.code, JSON.parse(started.stdout)]).toEqual([
      0,
      {
        runId: 'e2e-watch',
        state: 'started',
        webUiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/e2e-watch',
      },
    ]);

    const status = await sdwEtl(['status', 'e2e-watch', '--json'], env, pipeline.dir);
    expect(JSON.parse(status.stdout)).toMatchObject({
      runId: 'e2e-watch',
      status: 'running',
      progress: { state: 'running', bankApi: { status: 'up' } },
      reportPath: null,
    });

    const watched = await sdwEtl(['status', 'e2e-watch', '--watch'], env, pipeline.dir);
    expect(watched.code).toBe(0);
    const lines = watched.stdout.split('\n');
    expect(lines[0]).toMatch(/^progress: \d+\/59 customers \d+% \| .* \| running \| loaded \d+ skipped 0 failed 0 \|/);
    expect(watched.stdout).toMatch(/\nRun e2e-watch finished in [\d.]+ s\n {2}rows {8}59 /);
    expect(watched.stdout).toMatch(/ {2}loaded {6}59\n/);
  });

  test('--quiet prints only the summary', async () => {
    const input = writeCsv(pipeline.dir, csvOf([20, 21]), 'quiet.csv');
    const ran = await sdwEtl(
      ['run', '--input', input, '--output', path.join(pipeline.dir, 'quiet.json'), '--id', 'e2e-quiet', '--quiet'],
      env,
      pipeline.dir,
    );
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^\nRun e2e-quiet finished in [\d.]+ s\n/);
    expect(ran.stdout).not.toContain('progress:');
  });
});
