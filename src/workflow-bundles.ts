// The workflow code bundled once at build time (`npm run build`), so a worker starts in well under a second instead
// of bundling it at every start: one bundle for workers without encryption, one with the encrypting failure converter.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { failureConverterPath } from './codec';

/** sdw-etl's workflow interceptors: one fails a run this worker cannot decrypt at once, one keeps the outage gauge. */
export const workflowInterceptorModules = [
  require.resolve('./workflows/undecodable-input'),
  require.resolve('./telemetry/workflow-interceptors'),
];

const bundleDir = path.join(__dirname, 'workflow-bundles');
const bundlePath = (encrypted: boolean): string =>
  path.join(bundleDir, encrypted ? 'workflows-encrypted.js' : 'workflows.js');

/** The prebuilt bundle for a worker with or without encryption; undefined when the build made none (ts-node, tests). */
export function prebuiltBundle(encrypted: boolean): WorkerOptions['workflowBundle'] | undefined {
  const codePath = bundlePath(encrypted);
  return existsSync(codePath) ? { codePath } : undefined;
}

/** The bundler's chatter is left out; its warnings and errors go to stderr. */
const quietLogger = {
  trace() {},
  debug() {},
  info() {},
  log() {},
  warn: (message: string) => process.stderr.write(`${message}\n`),
  error: (message: string) => process.stderr.write(`${message}\n`),
};

/** The workflow code with sdw-etl's interceptors; with encryption, the failure converter that encrypts messages. */
export async function bundleWorkflows(encrypted: boolean): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    workflowInterceptorModules,
    ...(encrypted ? { failureConverterPath } : {}),
    logger: quietLogger,
  });
  return code;
}

async function main(): Promise<void> {
  mkdirSync(bundleDir, { recursive: true });
  for (const encrypted of [false, true]) writeFileSync(bundlePath(encrypted), await bundleWorkflows(encrypted));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
