// sdw-etl simulate: the bank API and LLM simulators as commands, for demos, tests and benchmarks.
import path from 'node:path';
import type { Command } from 'commander';
import { projectRoot } from '../config';
import { generateCustomers, loadSeed, startBankApi, type BankApiFaults } from '../simulators/bank-api';
import { startLlm, type LlmFaults } from '../simulators/llm';
import { batchOutcomes } from '../simulators/llm-batch';
import { action, fraction, milliseconds, oneOf, port, wholeNumber } from './context';

export const defaultSeedFile = path.join(projectRoot, 'data', 'customers.json');

type BankApiFlags = Omit<BankApiFaults, 'retryAfterSeconds'> & {
  port: number;
  seed: string;
  state?: string;
  customers: number;
};

type LlmFlags = Omit<LlmFaults, 'retryAfterSeconds'> & { port: number; logFile?: string };

/** Keeps a simulator up until Ctrl-C or SIGTERM. */
async function serveUntilStopped(close: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await close();
}

export function registerSimulate(program: Command): void {
  const simulate = program
    .command('simulate')
    .description('Run a simulator on loopback for demos, tests and benchmarks.');

  simulate
    .command('bank-api')
    .description('The SDW2023 bank API with fault injection.')
    .option('--port <port>', 'port to listen on', port, 8080)
    .option('--seed <file>', 'JSON array of SDW2023 users to start from', defaultSeedFile)
    .option('--state <file>', 'journal of changes, so loads survive a restart')
    .option('--customers <n>', 'add fictional customers after the seed, up to this many in all', wholeNumber, 0)
    .option('--error-rate <fraction>', 'fraction of requests answered 500', fraction, 0)
    .option('--rate-limit-rate <fraction>', 'fraction answered 429 with Retry-After', fraction, 0)
    .option('--hang-rate <fraction>', 'fraction never answered', fraction, 0)
    .option('--reset-rate <fraction>', 'fraction whose connection is reset', fraction, 0)
    .option('--malformed-rate <fraction>', 'fraction answered with broken JSON', fraction, 0)
    .option('--latency-ms <ms>', 'added to every answer', milliseconds, 0)
    .option('--jitter-ms <ms>', 'random extra latency, up to this', milliseconds, 0)
    .action(
      action(async (o: BankApiFlags) => {
        const seed = loadSeed(o.seed);
        const lastId = seed.reduce((max, u) => Math.max(max, u.id), 0);
        const sim = await startBankApi({
          port: o.port,
          seed: [...seed, ...generateCustomers(Math.max(0, o.customers - seed.length), lastId + 1)],
          stateFile: o.state,
          faults: {
            errorRate: o.errorRate,
            rateLimitRate: o.rateLimitRate,
            hangRate: o.hangRate,
            resetRate: o.resetRate,
            malformedRate: o.malformedRate,
            latencyMs: o.latencyMs,
            jitterMs: o.jitterMs,
          },
        });
        console.log(
          `SDW2023 bank API simulator on ${sim.url} with ${sim.users.size} users${o.state ? `, state in ${o.state}` : ''}`,
        );
        await serveUntilStopped(sim.close);
      }),
    );

  simulate
    .command('llm')
    .description('An OpenAI-compatible chat completions server with fault injection.')
    .option('--port <port>', 'port to listen on', port, 8090)
    .option('--latency-ms <ms>', 'added to every answer', milliseconds, 0)
    .option('--rate-limit-rate <fraction>', 'fraction answered 429 with Retry-After', fraction, 0)
    .option('--error-rate <fraction>', 'fraction answered 500', fraction, 0)
    .option('--reject-key', 'answer 401 to every request, as with a revoked key', false)
    .option('--bad-reply-rate <fraction>', 'fraction answered with an empty or over-long message', fraction, 0)
    .option('--unique-replies', 'word every reply differently, as a live model does', false)
    .option('--batch-duration-ms <ms>', 'how long a Batch API batch takes to end', milliseconds, 1000)
    .option('--batch-line-error-rate <fraction>', "fraction of a batch's requests that fail", fraction, 0)
    .option(
      '--batch-outcome <outcome>',
      'how batches end: completed, expired (half answered) or failed',
      oneOf(batchOutcomes),
      'completed',
    )
    .option('--log-file <file>', 'append every request received to this file (also at GET /_requests)')
    .action(
      action(async (o: LlmFlags) => {
        const sim = await startLlm({
          port: o.port,
          logFile: o.logFile,
          faults: {
            latencyMs: o.latencyMs,
            rateLimitRate: o.rateLimitRate,
            errorRate: o.errorRate,
            rejectKey: o.rejectKey,
            badReplyRate: o.badReplyRate,
            uniqueReplies: o.uniqueReplies,
            batchDurationMs: o.batchDurationMs,
            batchLineErrorRate: o.batchLineErrorRate,
            batchOutcome: o.batchOutcome,
          },
        });
        console.log(
          `LLM simulator on ${sim.baseURL} (set OPENAI_BASE_URL=${sim.baseURL}); requests at ${sim.url}/_requests`,
        );
        await serveUntilStopped(sim.close);
      }),
    );
}
