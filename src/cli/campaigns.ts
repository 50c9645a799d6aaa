// sdw-etl campaigns: the campaigns in the record store, each with how many customers have its message and how many
// of those messages reached the bank.
import type { Command } from 'commander';
import { openRecordStore } from '../activities/store';
import { loadConfig } from '../config';
import { printable } from '../report';
import { action } from './context';

export function registerCampaigns(program: Command): void {
  program
    .command('campaigns')
    .description('List the campaigns: customers with a chosen message, and those whose message reached the bank.')
    .action(
      action(async () => {
        const store = await openRecordStore(loadConfig());
        try {
          const campaigns = await store.listCampaigns();
          if (campaigns.length === 0) {
            console.log('No campaign has chosen a message yet.');
            return;
          }
          console.log('campaign                          customers   loaded  first chosen              last change');
          for (const c of campaigns) {
            console.log(
              [
                printable(c.campaign).padEnd(32),
                String(c.customers).padStart(10),
                String(c.loaded).padStart(8),
                ` ${c.firstChosenAt}`,
                c.lastChangedAt,
              ].join(' '),
            );
          }
        } finally {
          await store.close?.();
        }
      }),
    );
}
