// sdw-etl doctor as an operator setting up meets it: every misconfiguration named at once with its fix, then all ✓.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseEncryptionKeys } from '../../src/codec';
import { cliEnv, downUrl, sdwEtl, startPipeline, type Pipeline, createBareNamespace, writeCsv } from '../helpers';

describe('sdw-etl doctor', () => {
  let pipeline: Pipeline;
  let env: Record<string, string>;
  beforeAll(async () => {
    pipeline = await startPipeline();
    env = {
      ...cliEnv(pipeline),
      OPENAI_BASE_URL: pipeline.llm.baseURL,
      OPENAI_API_KEY: 'sk-doctor',
      SDW_DATA_DIR: path.join(pipeline.dir, 'doctor-data'),
    };
  });
  afterAll(async () => {
    await pipeline.close();
  });

  test('all set up: every check ✓ and exit 0', async () => {
    const ran = await sdwEtl(['doctor', '--output', path.join(pipeline.dir, 'doctor', 'out.json')], env, pipeline.dir);
    expect(ran.stdout.split('\n').filter((l) => l.startsWith('✗'))).toEqual([]);
    expect(ran.stdout).toContain(`✓ a worker polls the task queue ${pipeline.config.temporal.taskQueue}`);
    expect(ran.stdout).toContain('✓ the LLM at');
    expect(ran.stdout).toMatch(/^✓ the workers run sdw-etl \d+\.\d+\.\d+, as this command does$/m);
    expect(ran.stdout).toContain("✓ the workers' encryption keys match this command's (no encryption)");
    expect(ran.stdout).toContain('All checks passed.');
    expect(ran.code).toBe(0);
  });

  test('no search attributes, no worker, a refused LLM key and the bank API down: each named with its fix, exit 1', async () => {
    const namespace = createBareNamespace('doctor');
    pipeline.llm.faults.rejectKey = true;
    try {
      const broken = { ...env, TEMPORAL_NAMESPACE: namespace, SDW_API_URL: await downUrl() };
      const ran = await sdwEtl(['doctor', '--output', path.join(pipeline.dir, 'out.json')], broken, pipeline.dir);
      const failed = ran.stdout.split('\n').filter((l) => l.startsWith('✗'));
      expect(failed).toEqual([
        expect.stringContaining(`lacks the search attributes SdwRunId`),
        expect.stringContaining('No worker polls the task queue'),
        expect.stringMatching(/^✗ the workers run sdw-etl .*: not checked: no worker polls the task queue\.$/),
        expect.stringMatching(/^✗ the workers' encryption keys .*: not checked: no worker polls the task queue\.$/),
        expect.stringContaining('does not answer: start it, or set SDW_API_URL'),
        expect.stringContaining('refused the key (401): set OPENAI_API_KEY to a valid key.'),
      ]);
      expect(failed[0]).toContain('scripts/register-search-attributes.sh');
      expect(failed[1]).toContain('npx sdw-etl worker');
      expect(ran.stdout).toContain('6 of 11 checks failed.');
      expect(ran.stdout).not.toContain('\u001b'); // no colours off a terminal
      expect(ran.code).toBe(1);
    } finally {
      pipeline.llm.faults.rejectKey = false;
    }
  });

  test("the workers' folders: a missing input folder, a file for one and an output folder that cannot be made, each named with its fix", async () => {
    const lists = path.join(pipeline.dir, 'lists');
    mkdirSync(lists);
    const missing = path.join(pipeline.dir, 'no-such-folder');
    const file = writeCsv(lists, 'UserID\n1\n', 'november.csv');
    const output = '/sys/sdw-etl-output'; // not even root can make a folder there
    const folders = { SDW_INPUT_DIRS: [lists, missing, file].join(path.delimiter), SDW_OUTPUT_DIR: output };
    const ran = await sdwEtl(
      ['doctor', '--output', path.join(pipeline.dir, 'doctor', 'out.json')],
      { ...env, ...folders },
      pipeline.dir,
    );
    const lines = ran.stdout.split('\n');
    const dirs = 'SDW_INPUT_DIRS to the folders (separated by ":") that hold the lists';
    expect(lines.filter((l) => l.startsWith('✗'))).toEqual([
      `✗ the input folder ${missing} (SDW_INPUT_DIRS) can be read: The input folder ${missing} does not exist: create it, or set ${dirs}.`,
      `✗ the input folder ${file} (SDW_INPUT_DIRS) can be read: The input folder ${file} is a file, not a folder: set ${dirs}.`,
      `✗ the output folder ${output} (SDW_OUTPUT_DIR) takes new files: The output folder ${output} cannot be created or written: fix its permissions, or set SDW_OUTPUT_DIR to a folder this user can write.`,
    ]);
    expect(lines).toContain(`✓ the input folder ${lists} (SDW_INPUT_DIRS) can be read`);
    expect(ran.stdout).toContain('3 of 13 checks failed.');
    expect(ran.code).toBe(1);

    // Set right, the output folder is made, and every check passes.
    const made = path.join(pipeline.dir, 'exports');
    const fixed = await sdwEtl(
      ['doctor', '--output', path.join(made, 'out.json')],
      { ...env, SDW_INPUT_DIRS: lists, SDW_OUTPUT_DIR: made },
      pipeline.dir,
    );
    expect(fixed.stdout).toContain(`✓ the output folder ${made} (SDW_OUTPUT_DIR) takes new files`);
    expect([fixed.stdout.split('\n').filter((l) => l.startsWith('✗')), fixed.code]).toEqual([[], 0]);
  });

  test('encryption keys that differ between this command and the workers: named with the fix; the same keys: ✓', async () => {
    const key = (): string => randomBytes(32).toString('base64');
    const workerKey = `k1:${key()}`;
    const encrypted = await startPipeline({ encryption: parseEncryptionKeys(workerKey) });
    try {
      const keysLine = async (extra: Record<string, string>): Promise<[string | undefined, number | null]> => {
        const ran = await sdwEtl(
          ['doctor', '--output', path.join(pipeline.dir, 'out.json')],
          { ...env, ...cliEnv(encrypted), ...extra },
          pipeline.dir,
        );
        return [ran.stdout.split('\n').find((l) => l.includes('encryption keys match')), ran.code];
      };
      expect(await keysLine({})).toEqual([
        expect.stringMatching(
          /^✗ .*\(no encryption\): worker \d+@\S+ sdw-etl\/\S+ keys=k1:[0-9a-f]{12} encrypts payloads and this command has no key: give clients and workers the same SDW_ETL_ENCRYPTION_KEY\.$/,
        ),
        1,
      ]);
      expect(await keysLine({ SDW_ETL_ENCRYPTION_KEY: `k1:${key()}` })).toEqual([
        expect.stringMatching(
          /^✗ .*\(keys k1\): key k1 is not the same key here and on worker .*: give clients and workers the same SDW_ETL_ENCRYPTION_KEY\.$/,
        ),
        1,
      ]);
      expect(await keysLine({ SDW_ETL_ENCRYPTION_KEY: workerKey })).toEqual([
        "✓ the workers' encryption keys match this command's (keys k1)",
        0,
      ]);
    } finally {
      await encrypted.close();
    }
  });
});
