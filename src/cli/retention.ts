// sdw-etl prune: the record store's retention, customer records deleted once their run is old enough, and campaign
// ledgers once their campaign is.
import type { Command } from 'commander';
import { openRecordStore } from '../activities/store';
import { loadConfig } from '../config';
import { printable } from '../report';
import { action, duration, plural } from './context';

export function registerRetention(program: Command): void {
  program
    .command('prune')
    .description("Delete the records of runs that saved none for a while (the record store's retention).")
    .requiredOption('--older-than <age>', 'runs whose last record is older than this (30d, 12h)', duration)
    .action(
      action(async (flags: { olderThan: number }) => {
        const config = loadConfig();
        const store = await openRecordStore(config);
        try {
          const before = new Date(Date.now() - flags.olderThan);
          const { runs, records, campaigns } = await store.pruneRuns(before);
          const where = config.databaseUrl ? 'the PostgreSQL store' : config.dataDir;
          if (runs.length === 0)
            console.log(`No run in ${where} saved its last record before ${before.toISOString()}.`);
          else
            console.log(
              `Deleted ${plural(records, 'customer record')} of ${plural(runs.length, 'run')} from ${where}, none saved since ${before.toISOString()}: ${runs.join(', ')}.`,
            );
          if (campaigns.length > 0)
            console.log(
              `Deleted the ledger of ${plural(campaigns.length, 'campaign')} unchanged since then: ${campaigns.map(printable).join(', ')}.`,
            );
        } finally {
          await store.close?.();
        }
      }),
    );
}
