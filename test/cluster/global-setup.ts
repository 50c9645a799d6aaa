// Once per `npm run test:cluster`: a Temporal cluster of scripts/cluster.sh (built the first time) on a PostgreSQL of
// its own, in a scratch folder on free ports; the tests reach it through SDW_TEST_CLUSTER_ENV and
// SDW_TEST_TEMPORAL_ADDRESS, and use the same PostgreSQL as their workers' record store (SDW_TEST_DATABASE_URL).
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clusterScript, clusterUp, freePortRun, type ClusterEnv } from './cluster';

export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdw-etl-cluster-'));
  chmodSync(dir, 0o755); // the postgres user keeps its data here when the tests run as root
  // Nine ports for the services, then the Web UI's and PostgreSQL's.
  const first = await freePortRun(11);
  const env: ClusterEnv = {
    SDW_DATA_DIR: dir,
    SDW_CLUSTER_PORT: String(first),
    SDW_CLUSTER_UI_PORT: String(first + 9),
    SDW_POSTGRES_PORT: String(first + 10),
  };
  process.env.SDW_TEST_CLUSTER_ENV = JSON.stringify(env);
  process.env.SDW_TEST_SCRATCH = dir;
  const started = Date.now();
  try {
    process.env.SDW_TEST_TEMPORAL_ADDRESS = await clusterUp(env);
  } catch (err) {
    // Jest runs no teardown after a failed setup: what did start is stopped here.
    await clusterScript('down', env);
    throw err;
  }
  console.log(`\nTemporal cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s (scripts/cluster.sh up)`);
  process.env.SDW_TEST_DATABASE_URL = `postgres://postgres@127.0.0.1:${env.SDW_POSTGRES_PORT}/sdw_etl`;
}
