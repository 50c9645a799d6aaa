// The sdw-etl command: the worker, run, demo and codec-server commands, and the groups registered from their files.
import { Command, Option } from 'commander';
import { startCodecServer } from '../codec-server';
import { loadConfig, loadDotEnv, loadTelemetryConfig, perMinute } from '../config';
import { locales } from '../personalize';
import { printable } from '../report';
import { installWorkerRuntime } from '../telemetry/runtime';
import { startTracing, stopTracing } from '../telemetry/tracing';
import { createWorker } from '../worker';
import type { RunFlags } from './run';
import {
  apiFailurePolicies,
  defaultRunOptions,
  llmFailurePolicies,
  llmModes,
  maxBatchSize,
  maxConcurrency,
  maxPageSize,
  sinkChoices,
} from '../workflows/api';
import { registerAudit } from './audit';
import { registerCampaigns } from './campaigns';
import { registerExport } from './export';
import { action, duration, oneOf, port, positiveInt, UsageError } from './context';
import { registerControl } from './control';
import { demo } from './demo';
import { registerDoctor } from './doctor';
import { jsonOption } from './json';
import { registerRetention } from './retention';
import { runCommand } from './run';
import { registerSimulate } from './simulate';

loadDotEnv();

const program = new Command('sdw-etl')
  .description('Personal, AI-written investment messages for a list of bank customers, loaded durably on Temporal.')
  .showHelpAfterError('(run sdw-etl --help for usage)');
// Commander's errors quote what was typed: shown printable, line by line.
program.configureOutput({
  outputError: (text, write) =>
    write(
      `sdw-etl: ${text
        .replace(/^error: /, '')
        .split('\n')
        .map(printable)
        .join('\n')}`,
    ),
});

program
  .command('worker')
  .description('Run a worker: the workflows and every step of a customer.')
  .option(
    '--llm-rpm <n>',
    'LLM calls a minute across every worker sharing SDW_DATABASE_URL (default: SDW_LLM_RPM)',
    positiveInt(Number.MAX_SAFE_INTEGER),
  )
  .option('--metrics-port <port>', 'serve Prometheus metrics on :port/metrics (default: SDW_METRICS_PORT)', port)
  .action(
    action(async (flags: { llmRpm?: number; metricsPort?: number }) => {
      const loaded = loadConfig();
      const config = { ...loaded, llmQuota: flags.llmRpm ? perMinute(flags.llmRpm) : loaded.llmQuota };
      const telemetry = loadTelemetryConfig();
      telemetry.metricsPort = flags.metricsPort ?? telemetry.metricsPort;
      installWorkerRuntime(telemetry);
      startTracing(telemetry);
      if (!config.llm) console.log('No OPENAI_API_KEY or OPENAI_BASE_URL set: messages come from offline templates.');
      if (telemetry.metricsPort !== undefined)
        console.log(`Metrics on http://0.0.0.0:${telemetry.metricsPort}/metrics`);
      const worker = await createWorker(config);
      console.log(
        `Worker polling ${config.temporal.connection.address} (namespace ${config.temporal.namespace}); Ctrl-C stops it.`,
      );
      await worker.run();
    }),
  );

program
  .command('run')
  .description('Run a customer list through the pipeline.')
  .requiredOption('--input <csv>', 'CSV with a UserID column')
  .option('--output <file>', 'the JSON export; the report goes beside it', defaultRunOptions.output)
  .option('--api-url <url>', 'the bank API (default: SDW_API_URL)')
  .option(
    '--concurrency <n>',
    'customers processed at once',
    positiveInt(maxConcurrency),
    defaultRunOptions.concurrency,
  )
  .option(
    '--batch-size <n>',
    'customers per batch workflow (at most --concurrency)',
    positiveInt(maxBatchSize),
    defaultRunOptions.batchSize,
  )
  .addOption(
    new Option('--on-api-failure <policy>', 'when the bank API does not answer for a customer')
      .choices(apiFailurePolicies)
      .default(defaultRunOptions.onApiFailure),
  )
  .addOption(
    new Option('--on-llm-failure <policy>', 'when the LLM gives no usable message')
      .choices(llmFailurePolicies)
      .default(defaultRunOptions.onLlmFailure),
  )
  .addOption(
    new Option(
      '--llm-mode <mode>',
      "sync: one request per customer; batch: the LLM's Batch API, half the price, within 24 h",
    )
      .choices(llmModes)
      .default('sync'),
  )
  .addOption(
    new Option('--sink <sink>', 'api: PUT into the bank API; file: JSON export only; both')
      .choices(sinkChoices)
      .default('both'),
  )
  .option('--locale <locale>', 'language of the messages (default: SDW_LOCALE or pt-BR)', oneOf(locales))
  .option(
    '--page-size <n>',
    'rows per page; the run continues as new after each',
    positiveInt(maxPageSize),
    defaultRunOptions.pageSize,
  )
  .option(
    '--api-outage-wait <duration>',
    'how long to wait out a bank API that answers no one before the failure policies apply (30s, 15m, 1h)',
    duration,
    defaultRunOptions.apiOutageWaitMs,
  )
  .option(
    '--campaign <name>',
    "one message per customer per campaign: customers already loaded in it are left alone (default: the input's base name)",
  )
  .option('--id <runId>', 'the run id (the workflow id); generated when not given')
  .option('--detach', 'print the run id and exit without waiting')
  .option('--force', 'replace an --output file that is not an earlier sdw-etl export')
  .option('--quiet', 'print only the summary, no progress')
  .addOption(jsonOption())
  .action(
    action(
      async (
        flags: Omit<RunFlags, 'apiOutageWaitMs'> & { output: string; apiOutageWait: number },
        command: Command,
      ) => {
        const explicitOutput = command.getOptionValueSource('output') === 'cli';
        const { apiOutageWait, ...rest } = flags;
        return runCommand(
          { ...rest, apiOutageWaitMs: apiOutageWait, output: explicitOutput ? flags.output : undefined },
          loadConfig(),
        );
      },
    ),
  );

program
  .command('demo')
  .description('Run data/SDW2023.csv on the embedded default: dev server, bank API simulator, a worker (npm start).')
  .action(action(async () => demo(loadConfig())));

program
  .command('codec-server')
  .description('Decrypt payloads for the Temporal Web UI and CLI (start the UI with --ui-codec-endpoint).')
  .option('--port <port>', 'port to listen on (loopback only)', port, 8888)
  .option('--origin <url>', 'the Web UI allowed to call it', 'http://127.0.0.1:8233')
  .action(
    action(async (flags: { port: number; origin: string }) => {
      const config = loadConfig();
      if (!config.encryption)
        throw new UsageError('SDW_ETL_ENCRYPTION_KEY is not set: there is nothing to decrypt with.');
      const server = await startCodecServer({ keys: config.encryption, port: flags.port, origin: flags.origin });
      console.log(`Codec server on ${server.url} for ${flags.origin}; Ctrl-C stops it.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    }),
  );

registerControl(program);
registerAudit(program);
registerRetention(program);
registerCampaigns(program);
registerExport(program);
registerDoctor(program);
registerSimulate(program);

program
  .parseAsync()
  .catch((err: unknown) => {
    console.error(`sdw-etl: ${printable((err as Error).message)}`);
    process.exitCode = 1;
  })
  // The spans still buffered leave before the process does.
  .finally(stopTracing);
