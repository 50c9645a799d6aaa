// Once per test run: build (or find) the Temporal CLI, start a real dev server (and its Web UI) on free ports with
// the search attributes sdw-etl uses, bundle the workflows once for every test file, and start a PostgreSQL of the
// run's own (scripts/postgres.sh, in a scratch folder on a free port) for the record store's tests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerFlags, freePort, temporalBinary } from '../src/bench/processes';
import { bundleWorkflows } from '../src/workflow-bundles';
import { postgresScratchDir, startPostgres } from './postgres';

export default async function globalSetup(): Promise<void> {
  // PostgreSQL starts beside the Temporal server and the bundling, and is waited for last.
  const postgresDir = postgresScratchDir();
  const postgresPort = await freePort();
  process.env.SDW_TEST_POSTGRES_DIR = postgresDir;
  process.env.SDW_TEST_POSTGRES_PORT = String(postgresPort);
  const postgres = startPostgres(postgresDir, postgresPort);
  postgres.catch(() => undefined); // met below, when it is awaited, not as an unhandled rejection meanwhile
  const temporal = temporalBinary();
  const uiPort = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporal },
      ip: '127.0.0.1',
      uiPort,
      extraArgs: devServerFlags(),
    },
  });
  (globalThis as { temporalTestEnv?: TestWorkflowEnvironment }).temporalTestEnv = env;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sdw-etl-test-'));
  // The workflow code as the build bundles it, from the sources, once for every test file.
  const bundlePath = path.join(scratch, 'workflow-bundle.js');
  writeFileSync(bundlePath, await bundleWorkflows(false));
  const encryptedPath = path.join(scratch, 'workflow-bundle-encrypted.js');
  writeFileSync(encryptedPath, await bundleWorkflows(true));
  process.env.SDW_TEST_WORKFLOW_BUNDLE_ENCRYPTED = encryptedPath;
  process.env.SDW_TEST_TEMPORAL_ADDRESS = env.address;
  process.env.SDW_TEST_TEMPORAL_UI_URL = `http://127.0.0.1:${uiPort}`;
  process.env.SDW_TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.SDW_TEST_SCRATCH = scratch;
  process.env.SDW_TEST_TEMPORAL_CLI = temporal;
  process.env.SDW_TEST_DATABASE_URL = await postgres;
}
