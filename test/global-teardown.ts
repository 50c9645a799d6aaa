// Once per test run, after the last test: stop the run's Temporal server and PostgreSQL, and remove their scratch.
import { rmSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { postgresScript } from './postgres';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { temporalTestEnv?: TestWorkflowEnvironment }).temporalTestEnv?.teardown();
  const postgresDir = process.env.SDW_TEST_POSTGRES_DIR;
  if (postgresDir) {
    await postgresScript('stop', postgresDir, Number(process.env.SDW_TEST_POSTGRES_PORT), true);
    rmSync(postgresDir, { recursive: true, force: true });
  }
  if (process.env.SDW_TEST_SCRATCH) rmSync(process.env.SDW_TEST_SCRATCH, { recursive: true, force: true });
}
