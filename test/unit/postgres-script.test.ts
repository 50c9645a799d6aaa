// scripts/postgres.sh: the PostgreSQL of the record store, started, found running, reported on and stopped, each
// test in a scratch folder on a free port of its own.
import { readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/bench/processes';
import { lastLine, postgresScratchDir, postgresScript } from '../postgres';

describe('scripts/postgres.sh', () => {
  test('start prints the URL last, again without restarting when it runs; status and stop tell and stop it', async () => {
    const dir = postgresScratchDir();
    const port = await freePort();
    const url = `postgres://postgres@127.0.0.1:${port}/sdw_etl`;
    const startedAt = async (): Promise<string> => {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ at: Date }>('SELECT pg_postmaster_start_time() AS at');
        return rows[0]!.at.toISOString();
      } finally {
        await client.end();
      }
    };
    try {
      const first = await postgresScript('start', dir, port);
      expect(first).toMatchObject({ code: 0 });
      expect(lastLine(first.stdout)).toBe(url);
      const since = await startedAt();

      const again = await postgresScript('start', dir, port);
      expect(again).toMatchObject({ code: 0 });
      expect(again.stdout).toContain('already runs');
      expect(lastLine(again.stdout)).toBe(url);
      expect(await startedAt()).toBe(since);

      const running = await postgresScript('status', dir, port);
      expect(running).toMatchObject({ code: 0 });
      expect(running.stdout).toContain(`127.0.0.1:${port}`);
      expect(running.stdout).toContain(path.join(dir, `postgres-${port}`));

      expect(await postgresScript('stop', dir, port)).toMatchObject({ code: 0 });
      const stopped = await postgresScript('status', dir, port);
      expect(stopped).toMatchObject({ code: 3 });
      expect(stopped.stdout).toContain('No PostgreSQL');
      expect(await postgresScript('stop', dir, port)).toMatchObject({ code: 0 });
    } finally {
      await postgresScript('stop', dir, port);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a port another program holds is named, and nothing is started', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const dir = postgresScratchDir();
    try {
      const result = await postgresScript('start', dir, port);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is taken by another program`);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
