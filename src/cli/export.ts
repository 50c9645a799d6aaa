// sdw-etl export RUN --out FILE: a finished run's export and reports written again, on this machine, from the record
// store (and the stored input) and Temporal: with a shared store, any host can write them, one that ran no part of
// the run included.
import path from 'node:path';
import type { Command } from 'commander';
import { exportResults } from '../activities/export';
import { openRecordStore } from '../activities/store';
import { latestRunInput, runHandle } from '../client';
import { printable } from '../report';
import { resolveRunOptions } from '../workflows/api';
import { action, UsageError, withClient } from './context';

export function registerExport(program: Command): void {
  program
    .command('export')
    .argument('<runId>')
    .description("Write a finished run's JSON export and its reports here, from the record store and Temporal.")
    .requiredOption('--out <file>', 'the JSON export; the reports go beside it')
    .action(
      action((runId: string, flags: { out: string }) =>
        withClient(async (client, config) => {
          const handle = runHandle(client, runId);
          const { status } = await handle.describe();
          if (status.name !== 'COMPLETED' && status.name !== 'CANCELLED') {
            throw new UsageError(
              `Run ${runId} is ${status.name.toLowerCase()}: only a completed or cancelled run can be exported.`,
            );
          }
          const input = await latestRunInput(handle);
          const options = resolveRunOptions(input);
          // A completed run says when it started and what outages it saw; a cancelled one's last progress does.
          const summary = status.name === 'COMPLETED' ? await handle.result() : undefined;
          const startTime = (await handle.describe()).startTime.toISOString();
          const store = await openRecordStore(config);
          try {
            const result = await exportResults(store, {
              runId,
              input: options.input,
              inputStored: options.inputStored,
              output: path.resolve(flags.out),
              sink: options.sink,
              startedAt: summary?.startedAt ?? input.progress?.startedAt ?? startTime,
              cancelled: status.name === 'CANCELLED',
              retryOf: options.retryOf ?? null,
              campaign: options.campaign,
              bankApiOutages: summary?.bankApiOutages ?? input.progress?.bankApiOutages ?? [],
            });
            const c = result.counts;
            console.log(
              `Run ${runId}: ${c.rows} rows, ${c.loaded} loaded, ${c.alreadyLoaded} already loaded, ${c.skipped} skipped, ${c.failed} failed.`,
            );
            if (result.exportPath) console.log(`Export: ${printable(result.exportPath)}`);
            console.log(`Report: ${printable(result.reportPath)}`);
            console.log(`HTML report: ${printable(result.htmlReportPath)}`);
          } finally {
            await store.close?.();
          }
        }),
      ),
    );
}
