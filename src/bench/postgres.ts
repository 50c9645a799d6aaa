// A PostgreSQL of the bench's own (scripts/postgres.sh in a scratch folder, on a free port), and what the record store
// holds in it: rows and bytes per table, for the store's cost per customer.
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { projectRoot } from '../config';
import { freePort } from './processes';

export interface BenchPostgres {
  url: string;
  /** Rows and bytes (table, indexes and TOAST) of each of the store's tables. */
  tables(): Promise<Record<string, { rows: number; bytes: number }>>;
  stop(): Promise<void>;
}

const storeTables = ['customer_records', 'input_rows', 'campaign_messages'];

function script(command: 'start' | 'stop', dir: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(projectRoot, 'scripts', 'postgres.sh'), command], {
      env: { ...process.env, SDW_DATA_DIR: dir, SDW_POSTGRES_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout.trimEnd().split('\n').at(-1) ?? '')
        : reject(new Error(`postgres.sh ${command}: ${code}`)),
    );
  });
}

export async function startBenchPostgres(dir: string): Promise<BenchPostgres> {
  chmodSync(dir, 0o755); // the server runs as the postgres user under root, and must enter the folder
  const port = await freePort();
  const url = await script('start', dir, port);
  return {
    url,
    async tables() {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        const sizes: Record<string, { rows: number; bytes: number }> = {};
        for (const table of storeTables) {
          const { rows } = await client.query<{ rows: string; bytes: string }>(
            `SELECT (SELECT count(*) FROM ${table}) AS rows, pg_total_relation_size('${table}') AS bytes`,
          );
          sizes[table] = { rows: Number(rows[0]!.rows), bytes: Number(rows[0]!.bytes) };
        }
        return sizes;
      } finally {
        await client.end();
      }
    },
    stop: () => script('stop', dir, port).then(() => undefined),
  };
}
