import { rmSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { temporalTestEnv?: TestWorkflowEnvironment }).temporalTestEnv?.teardown();
  if (process.env.SDW_TEST_SCRATCH) rmSync(process.env.SDW_TEST_SCRATCH, { recursive: true, force: true });
}
