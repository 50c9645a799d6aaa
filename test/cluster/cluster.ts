// scripts/cluster.sh as the cluster's tests run it: a cluster of their own (ports, PostgreSQL and state in a scratch
// folder), its services' pids, and `up` again to start a service that was stopped.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

const script = path.resolve(__dirname, '..', '..', 'scripts', 'cluster.sh');

export interface ClusterEnv {
  SDW_DATA_DIR: string;
  SDW_CLUSTER_PORT: string;
  SDW_CLUSTER_UI_PORT: string;
  SDW_POSTGRES_PORT: string;
}

/** The cluster of this test run, from what its global setup put in the environment. */
export function clusterEnv(): ClusterEnv {
  const env = process.env.SDW_TEST_CLUSTER_ENV;
  if (!env)
    throw new Error('The test cluster is not running (test/cluster/global-setup.ts sets SDW_TEST_CLUSTER_ENV).');
  return JSON.parse(env) as ClusterEnv;
}

/** Runs scripts/cluster.sh up|down|status on the cluster of `env`; its stderr is passed on as it comes. */
export function clusterScript(command: string, env: ClusterEnv): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

/** `up`, failing with what it printed unless it ends with the address; gives the address. */
export async function clusterUp(env: ClusterEnv): Promise<string> {
  const { code, stdout } = await clusterScript('up', env);
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('TEMPORAL_ADDRESS=')) {
    throw new Error(`scripts/cluster.sh up exited with ${code}:\n${stdout}`);
  }
  return last.slice('TEMPORAL_ADDRESS='.length);
}

/** The pid of one of the cluster's services, from the file the script keeps. */
export function servicePid(env: ClusterEnv, service: string): number {
  return Number(
    readFileSync(path.join(env.SDW_DATA_DIR, `temporal-cluster-${env.SDW_CLUSTER_PORT}`, `${service}.pid`), 'utf8'),
  );
}

async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (free) await new Promise((resolve) => server.close(resolve));
  return free;
}

/**
 * The first port of `count` free ones in a row, below the ports the system hands out for port 0 (so no test's
 * server takes one meanwhile), picked at random so that two test runs on one machine do not meet.
 */
export async function freePortRun(count: number): Promise<number> {
  for (;;) {
    const first = 20_000 + Math.floor(Math.random() * 10_000);
    let free = true;
    for (let port = first; port < first + count && free; port++) free = await portFree(port);
    if (free) return first;
  }
}
