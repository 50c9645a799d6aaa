import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Customer } from '../../src/customer';
import { cliEnv, csvOf, downUrl, sdwEtl, startPipeline, writeCsv, type Pipeline } from '../helpers';

describe('the sdw-etl command', () => {
  let pipeline: Pipeline;
  let env: Record<string, string>;
  beforeAll(async () => {
    pipeline = await startPipeline({ offline: true });
    env = cliEnv(pipeline);
  });
  afterAll(async () => {
    await pipeline.close();
  });

  test('run waits, prints the summary with each customer and the Web UI link, and exits 0 when all loaded', async () => {
    const input = writeCsv(pipeline.dir, csvOf([8, 9]), 'ok.csv');
    const output = path.join(pipeline.dir, 'ok-final.json');
    const ran = await sdwEtl(['run', '--input', input, '--output', output, '--id', 'e2e-ok'], env, pipeline.dir);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('No OPENAI_API_KEY or OPENAI_BASE_URL is set here');
    expect(ran.stdout).toMatch(/loaded +2/);
    expect(ran.stdout).toMatch(/ 8 +loaded +api \/template/);
    expect(ran.stdout).toContain('Web UI: http://127.0.0.1:8233/namespaces/default/workflows/e2e-ok');
    expect((JSON.parse(readFileSync(output, 'utf8')) as Customer[]).map((u) => u.id)).toEqual([8, 9]);
    expect(existsSync(path.join(pipeline.dir, 'e2e-ok.report.json'))).toBe(true);
  });

  test('--output into a folder that does not exist creates it and says so', async () => {
    const input = writeCsv(pipeline.dir, csvOf([15]), 'new-folder.csv');
    const folder = path.join(pipeline.dir, 'made', 'for', 'this');
    const ran = await sdwEtl(['run', '--input', input, '--output', path.join(folder, 'out.json')], env, pipeline.dir);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain(`Created the output folder ${folder}.`);
    expect((JSON.parse(readFileSync(path.join(folder, 'out.json'), 'utf8')) as Customer[]).map((u) => u.id)).toEqual([
      15,
    ]);
  });

  test('exits 2 when some customer ended failed', async () => {
    const input = writeCsv(pipeline.dir, csvOf([1, 10]), 'partial.csv');
    const ran = await sdwEtl(
      ['run', '--input', input, '--output', path.join(pipeline.dir, 'partial.json')],
      env,
      pipeline.dir,
    );
    expect(ran.code).toBe(2);
    expect(ran.stdout).toMatch(/failed +1/);
    expect(ran.stdout).toContain('[api_rejected]');
  });

  test('with the API down and --sink file, every row is exported from mock data and the run exits 0', async () => {
    const input = writeCsv(pipeline.dir, csvOf([11, 12, 13]), 'down.csv');
    const output = path.join(pipeline.dir, 'down.json');
    const ran = await sdwEtl(
      [
        'run',
        '--input',
        input,
        '--output',
        output,
        '--api-url',
        await downUrl(),
        '--api-outage-wait',
        '2s',
        '--sink',
        'file',
      ],
      env,
      pipeline.dir,
    );
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/from mock +3/);
    expect((JSON.parse(readFileSync(output, 'utf8')) as Customer[]).map((u) => [u.id, u.name])).toEqual([
      [11, 'Cliente 11'],
      [12, 'Cliente 12'],
      [13, 'Cliente 13'],
    ]);
  });

  test('--detach prints the run id and exits 0 at once; the same id again is refused', async () => {
    const input = writeCsv(pipeline.dir, csvOf([14]), 'detach.csv');
    const args = [
      'run',
      '--input',
      input,
      '--output',
      path.join(pipeline.dir, 'detach.json'),
      '--id',
      'e2e-detached',
      '--detach',
    ];
    const ran = await sdwEtl(args, env, pipeline.dir);
    expect([ran.code, ran.stdout.trim().split('\n').at(-1)]).toEqual([0, 'e2e-detached']);
    await pipeline.client.workflow.getHandle('e2e-detached').result();
    const again = await sdwEtl(args, env, pipeline.dir);
    expect([again.code, again.stderr.trim()]).toEqual([1, 'sdw-etl: A run with id e2e-detached already exists.']);
  });

  test.each([
    [['run', '--input', 'nope.csv'], 'sdw-etl: The input file nope.csv does not exist.'],
    [
      ['run', '--input', 'x.csv', '--concurrency', '0'],
      "sdw-etl: option '--concurrency <n>' argument '0' is invalid. expected a whole number from 1 to 1000, got \"0\".",
    ],
    [
      ['run', '--input', 'x.csv', '--sink', 'db'],
      "sdw-etl: option '--sink <sink>' argument 'db' is invalid. Allowed choices are api, file, both.",
    ],
    [
      ['run', '--input', 'x.csv', '--output', '/sys/no/such/folder/out.json'],
      'sdw-etl: The output folder /sys/no/such/folder does not exist and cannot be created.',
    ],
    [['run', '--input', 'x.csv', '--output', '/sys/out.json'], 'sdw-etl: The output folder /sys is not writable.'],
    [
      ['run', '--input', 'x.csv', '--id', 'a/b'],
      'sdw-etl: The run id "a/b" must be 1 to 100 letters, digits, dots, dashes or underscores, starting with a letter or digit.',
    ],
  ])('a usage error %p is one sentence and exit 1', async (args, sentence) => {
    writeCsv(pipeline.dir, csvOf([1]), 'x.csv');
    const ran = await sdwEtl(args, env, pipeline.dir);
    expect(ran.code).toBe(1);
    expect(ran.stderr.trim().split('\n')[0]).toBe(sentence);
    expect(ran.stderr).not.toMatch(/\n\s+at /);
  });

  test('a CSV that is not UTF-8 is refused before any run starts, leaving the previous export intact', async () => {
    const input = path.join(pipeline.dir, 'latin1.csv');
    writeFileSync(input, Buffer.from('UserID,Nome\n2,Jos\xe9\n', 'latin1'));
    const output = path.join(pipeline.dir, 'kept.json');
    writeFileSync(output, '[{"previous": true}]');
    const ran = await sdwEtl(['run', '--input', input, '--output', output, '--id', 'e2e-latin1'], env, pipeline.dir);
    expect([ran.code, ran.stderr.trim()]).toEqual([
      1,
      `sdw-etl: The input file ${input} is not UTF-8 text; save it as "CSV UTF-8".`,
    ]);
    expect(readFileSync(output, 'utf8')).toBe('[{"previous": true}]');
    await expect(pipeline.client.workflow.getHandle('e2e-latin1').describe()).rejects.toThrow();
  });

  test.each([
    ['a header and no rows', 'UserID\n', 'it has a header and no rows'],
    ['no valid row', 'UserID\nabc\n-4\n\n0\n', 'none of its 3 rows is a customer id'],
  ])('a CSV with %s is refused before any run starts, exit 1', async (_what, text, why) => {
    const input = writeCsv(pipeline.dir, text, 'no-customers.csv');
    const ran = await sdwEtl(['run', '--input', input], env, pipeline.dir);
    expect([ran.code, ran.stderr.trim()]).toEqual([1, `sdw-etl: The input file ${input} names no customer: ${why}.`]);
  });

  test('a file that is not a CSV is refused without quoting it; a folder is named a folder', async () => {
    const secret = writeCsv(pipeline.dir, 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1\n', 'passwd');
    const ran = await sdwEtl(['run', '--input', secret], env, pipeline.dir);
    expect([ran.code, ran.stderr.trim()]).toEqual([
      1,
      `sdw-etl: The input file ${secret} has no UserID column in its header.`,
    ]);
    const folder = await sdwEtl(['run', '--input', pipeline.dir], env, pipeline.dir);
    expect([folder.code, folder.stderr.trim()]).toEqual([
      1,
      `sdw-etl: The input ${pipeline.dir} is a folder, not a CSV file.`,
    ]);
  });

  test('a Temporal server that does not answer is one sentence and exit 1', async () => {
    const input = writeCsv(pipeline.dir, csvOf([1]), 'noserver.csv');
    const address = (await downUrl()).replace('http://', '');
    const ran = await sdwEtl(['run', '--input', input], { ...env, TEMPORAL_ADDRESS: address }, pipeline.dir);
    expect(ran.code).toBe(1);
    expect(ran.stderr.trim()).toMatch(
      /^sdw-etl: The Temporal server does not answer .*; start it with scripts\/dev-server.sh start or npm start\.$/,
    );
  });

  test('a bad environment variable is one sentence and exit 1', async () => {
    const ran = await sdwEtl(['run', '--input', 'x.csv'], { ...env, SDW_LOCALE: 'fr' }, pipeline.dir);
    expect([ran.code, ran.stderr.trim()]).toEqual([1, 'sdw-etl: SDW_LOCALE must be one of pt-BR, en, got "fr".']);
  });
});
