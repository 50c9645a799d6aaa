// Once per `npm run test:cluster`, after the last test: scripts/cluster.sh down, then the scratch folder goes.
import { rmSync } from 'node:fs';
import { clusterEnv, clusterScript } from './cluster';

export default async function globalTeardown(): Promise<void> {
  if (!process.env.SDW_TEST_CLUSTER_ENV) return;
  const env = clusterEnv();
  await clusterScript('down', env);
  rmSync(env.SDW_DATA_DIR, { recursive: true, force: true });
}
