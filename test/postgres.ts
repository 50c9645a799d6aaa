// scripts/postgres.sh as the tests run it: a PostgreSQL of their own in a scratch folder on a free port, never a
// developer's own.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const script = path.resolve(__dirname, '..', 'scripts', 'postgres.sh');

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A scratch folder for a PostgreSQL's data that the postgres user can enter (the server runs as it under root). */
export function postgresScratchDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdw-etl-postgres-'));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * Runs scripts/postgres.sh start|stop|status on the PostgreSQL of `dataDir` and `port`; with `showStderr`, what it
 * says there (such as a first-time install) is also passed on as it comes.
 */
export function postgresScript(
  command: string,
  dataDir: string,
  port: number,
  showStderr = false,
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, command], {
      env: { ...process.env, SDW_DATA_DIR: dataDir, SDW_POSTGRES_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (showStderr) process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last line the script printed: what `start` gives as the connection URL. */
export const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? '';

/** Starts a PostgreSQL and gives its URL, or fails with what the script said. */
export async function startPostgres(dataDir: string, port: number): Promise<string> {
  const result = await postgresScript('start', dataDir, port, true);
  if (result.code !== 0) {
    throw new Error(`scripts/postgres.sh start exited with ${result.code}: ${result.stderr.trim()}`);
  }
  return lastLine(result.stdout);
}
