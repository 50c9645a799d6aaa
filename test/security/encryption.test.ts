import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { EncryptionCodec, parseEncryptionKeys, payloadToJson } from '../../src/codec';
import { startCodecServer } from '../../src/codec-server';
import { ConfigError } from '../../src/config';
import { runHandle } from '../../src/client';
import path from 'node:path';
import { batchHistories, cliEnv, csvOf, sdwEtl, seed, startPipeline, writeCsv, type Pipeline } from '../helpers';

const key = (): string => randomBytes(32).toString('base64');
const clientKey = `k2026:${key()}`;
const keys = parseEncryptionKeys(clientKey);

describe('with SDW_ETL_ENCRYPTION_KEY set', () => {
  let pipeline: Pipeline;
  let raw: Client;
  beforeAll(async () => {
    pipeline = await startPipeline({ encryption: keys });
    // A client with no codec sees history as the server stores it.
    raw = new Client({ connection: pipeline.client.connection });
  });
  afterAll(async () => {
    await pipeline.close();
  });

  test('the stored history holds no customer name, account number, message or failure reason', async () => {
    const { runId, report } = await pipeline.run(csvOf([2, 1]));
    expect(report.customers.map((c) => c.status)).toEqual(['loaded', 'failed']);
    const users = seed();
    const stored = JSON.stringify([
      await raw.workflow.getHandle(runId).fetchHistory(),
      ...(await batchHistories(raw, runId)),
    ]);
    for (const user of users.filter((u) => u.id <= 2)) {
      expect(stored).not.toContain(user.name!.split(' ')[0]);
      expect(stored).not.toContain(user.account!.number);
    }
    expect(stored).not.toContain(report.customers[0]!.message);
    expect(stored).not.toContain('can not be updated');
    // The client holding the key reads the same run in full.
    const summary = await runHandle(pipeline.client, runId).result();
    expect(summary.counts.loaded).toBe(1);
  });

  test('the codec server decrypts payloads for the Web UI, with the CORS it needs', async () => {
    const { runId } = await pipeline.run(csvOf([3]));
    const [history] = await batchHistories(raw, runId);
    // A batch's first activity is its first tries, whose result holds each settled customer's outcome and message.
    const firstTries = history!.events!.find((e) => e.activityTaskCompletedEventAttributes)!;
    const payload = firstTries.activityTaskCompletedEventAttributes!.result!.payloads![0]!;
    const server = await startCodecServer({ keys, port: 0, origin: 'http://127.0.0.1:8233' });
    try {
      const preflight = await fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { origin: 'http://127.0.0.1:8233' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('x-namespace');
      const decoded = await fetch(`${server.url}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default' },
        body: JSON.stringify({ payloads: [payloadToJson(payload)] }),
      });
      const body = (await decoded.json()) as { payloads: { data: string }[] };
      const tries = JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString()) as Record<
        string,
        { settled: { status: string; message: string } }
      >;
      expect(tries['3']!.settled.status).toBe('loaded');
      expect(tries['3']!.settled.message).toContain(
        seed()
          .find((u) => u.id === 3)!
          .name!.split(' ')[0],
      );
    } finally {
      await server.close();
    }
  });

  test('a wrong key is one clear sentence, never garbage', async () => {
    const { runId } = await pipeline.run(csvOf([4]));
    const env = {
      TEMPORAL_ADDRESS: pipeline.config.temporal.connection.address,
      SDW_TASK_QUEUE: pipeline.config.temporal.taskQueue,
      SDW_ETL_ENCRYPTION_KEY: `k2026:${key()}`,
    };
    const ran = await sdwEtl(['status', runId], env, pipeline.dir);
    expect([ran.code, ran.stderr.trim()]).toEqual([
      1,
      'sdw-etl: A payload encrypted with key "k2026" does not decrypt with the key SDW_ETL_ENCRYPTION_KEY gives that id.',
    ]);
    const missing = await sdwEtl(['status', runId], { ...env, SDW_ETL_ENCRYPTION_KEY: `other:${key()}` }, pipeline.dir);
    expect(missing.stderr.trim()).toBe(
      'sdw-etl: A payload is encrypted with key "k2026", which SDW_ETL_ENCRYPTION_KEY does not hold.',
    );
  });
});

describe('a worker that cannot decrypt a run', () => {
  const cannot = 'This worker cannot decrypt the run: it is encrypted with key "k2026"';
  test.each([
    ['has no key', undefined, `${cannot} and the worker has no SDW_ETL_ENCRYPTION_KEY.`],
    ['holds other keys', `other:${key()}`, `${cannot}, which the worker's SDW_ETL_ENCRYPTION_KEY does not hold.`],
    [
      'gives the id another key',
      `k2026:${key()}`,
      `${cannot}, and the worker's SDW_ETL_ENCRYPTION_KEY gives that id a different key.`,
    ],
  ])(
    'a worker that %s fails the run at once, in one sentence naming the key, which run and status show',
    async (_what, workerKey, sentence) => {
      const pipeline = await startPipeline({
        offline: true,
        encryption: workerKey === undefined ? undefined : parseEncryptionKeys(workerKey),
      });
      try {
        const env = { ...cliEnv(pipeline), SDW_ETL_ENCRYPTION_KEY: clientKey };
        const input = writeCsv(pipeline.dir, csvOf([2]), 'sealed.csv');
        const runId = `undecodable-${pipeline.config.temporal.taskQueue}`;
        const output = path.join(pipeline.dir, 'sealed.json');
        const ran = await sdwEtl(['run', '--input', input, '--output', output, '--id', runId], env, pipeline.dir);
        expect([ran.code, ran.stderr]).toEqual([1, `sdw-etl: Run ${runId} failed: ${sentence}\n`]);
        const status = await sdwEtl(['status', runId], env, pipeline.dir);
        expect(status.stdout).toContain(`Run ${runId}: failed\n  why         ${sentence}\n`);
        expect(pipeline.bankApi.users.get(2)!.news).toEqual([]);
      } finally {
        await pipeline.close();
      }
    },
  );
});

describe('encryption keys', () => {
  test('rotate: the first key encrypts, older ones still decrypt', async () => {
    const old = key();
    const before = new EncryptionCodec(parseEncryptionKeys(`old:${old}`));
    const sealed = await before.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"Ana"') },
    ]);
    const after = new EncryptionCodec(parseEncryptionKeys(`new:${key()},old:${old}`));
    const [opened] = await after.decode(sealed);
    expect(Buffer.from(opened!.data!).toString()).toBe('"Ana"');
    const [resealed] = await after.encode([opened!]);
    expect(Buffer.from(resealed!.metadata!['encryption-key-id']!).toString()).toBe('new');
  });

  test.each([
    ['k1:short', 'SDW_ETL_ENCRYPTION_KEY must be id:key pairs separated by commas, each key 32 bytes in base64.'],
    ['nocolon', 'SDW_ETL_ENCRYPTION_KEY must be id:key pairs separated by commas, each key 32 bytes in base64.'],
    [
      `a:${Buffer.alloc(32).toString('base64')},a:${Buffer.alloc(32).toString('base64')}`,
      'SDW_ETL_ENCRYPTION_KEY names key a twice.',
    ],
  ])('a bad key setting %p is refused in one sentence', (value, sentence) => {
    expect(() => parseEncryptionKeys(value)).toThrow(new ConfigError(sentence));
  });
});
