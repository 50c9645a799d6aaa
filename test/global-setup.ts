// Once per test run: build (or find) the Temporal CLI, start a real dev server on a free port with the
// search attributes sdw-etl uses, and bundle the workflows once for every test file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';

const root = path.resolve(__dirname, '..');

/** The Name=Type lines of scripts/search-attributes.txt, as dev-server flags. */
export function searchAttributeFlags(): string[] {
  return readFileSync(path.join(root, 'scripts', 'search-attributes.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .flatMap((line) => ['--search-attribute', line]);
}

export default async function globalSetup(): Promise<void> {
  const temporal = execFileSync('bash', [path.join(root, 'scripts', 'install-temporal.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporal },
      ip: '127.0.0.1',
      extraArgs: [
        '--log-level',
        'error',
        '--dynamic-config-value',
        'frontend.enableServerVersionCheck=false',
        ...searchAttributeFlags(),
      ],
    },
  });
  (globalThis as { temporalTestEnv?: TestWorkflowEnvironment }).temporalTestEnv = env;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sdw-etl-test-'));
  const quiet = {
    log: () => undefined,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: console.error,
  };
  const workflowsPath = path.join(root, 'src', 'workflows', 'index.ts');
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: quiet });
  const bundlePath = path.join(scratch, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  // Workers with encryption on need the failure converter that encodes failure messages inside the sandbox too.
  const encrypted = await bundleWorkflowCode({
    workflowsPath,
    logger: quiet,
    failureConverterPath: path.join(root, 'src', 'failure-converter.ts'),
  });
  const encryptedPath = path.join(scratch, 'workflow-bundle-encrypted.js');
  writeFileSync(encryptedPath, encrypted.code);
  process.env.SDW_TEST_WORKFLOW_BUNDLE_ENCRYPTED = encryptedPath;
  process.env.SDW_TEST_TEMPORAL_ADDRESS = env.address;
  process.env.SDW_TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.SDW_TEST_SCRATCH = scratch;
  process.env.SDW_TEST_TEMPORAL_CLI = temporal;
}
