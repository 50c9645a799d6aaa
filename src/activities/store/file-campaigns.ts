// The campaign ledger on one machine's disk: a JSON file per customer under <dataDir>/campaigns/<campaign>/, created
// once (an exclusive create is the unique key), so a customer's message is chosen once per campaign on this host.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { campaignProblem, validCampaign } from '../../campaign';
import { failureTypes } from '../../failures';
import { createTextExclusively, readJsonIfAny, writeTextAtomically } from '../../files';
import { activityFailure } from '../failure';
import type { CampaignEntry, CampaignLedger, CampaignSummary } from './store';

/** Ledger files read at the same time. */
const filesReadAtOnce = 256;

/** A ledger file: the entry, and when it was chosen and loaded. */
interface LedgerFile extends CampaignEntry {
  chosenAt: string;
  loadedAt: string | null;
}

export function createFileLedger(
  dataDir: string,
): CampaignLedger & { pruneCampaigns(before: Date): Promise<string[]> } {
  const campaignsDir = path.join(dataDir, 'campaigns');
  const folderOf = (campaign: string): string => {
    // A campaign name becomes a folder name: one the rule refuses never does.
    if (!validCampaign(campaign))
      throw activityFailure(failureTypes.inputInvalid, campaignProblem(campaign), { nonRetryable: true });
    return path.join(campaignsDir, encodeURIComponent(campaign));
  };
  const entryPath = (campaign: string, id: number): string => path.join(folderOf(campaign), `${id}.json`);

  const readEntry = (file: string): Promise<LedgerFile | undefined> => readJsonIfAny<LedgerFile>(file);
  const entryOf = ({ chosenAt: _chosen, loadedAt: _loaded, ...entry }: LedgerFile): CampaignEntry => entry;

  const exists = (file: string): Promise<boolean> =>
    stat(file).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );

  async function readMany(files: string[]): Promise<(LedgerFile | undefined)[]> {
    const read: (LedgerFile | undefined)[] = [];
    for (let start = 0; start < files.length; start += filesReadAtOnce) {
      read.push(...(await Promise.all(files.slice(start, start + filesReadAtOnce).map(readEntry))));
    }
    return read;
  }

  return {
    async readCampaign(campaign, ids) {
      const found = new Map<number, CampaignEntry>();
      // A campaign with no message yet has no folder: one look instead of a failed read for each customer.
      if (!(await exists(folderOf(campaign)))) return found;
      const entries = await readMany(ids.map((id) => entryPath(campaign, id)));
      entries.forEach((entry, i) => entry && found.set(ids[i]!, entryOf(entry)));
      return found;
    },
    async chooseMessage(campaign, id, chosen) {
      const file = entryPath(campaign, id);
      const entry: LedgerFile = { ...chosen, loadedBy: null, chosenAt: new Date().toISOString(), loadedAt: null };
      const create = (): Promise<boolean> => createTextExclusively(file, JSON.stringify(entry), 0o600);
      // The campaign's folder is made by its first message: the others find it there.
      const created = await create().catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        // The message holds the customer's first name: folders only the worker's user can enter, files only it reads.
        await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
        return create();
      });
      if (created) return entryOf(entry);
      return entryOf((await readEntry(file))!);
    },
    async markLoaded(campaign, runId, ids) {
      await Promise.all(
        ids.map(async (id) => {
          const file = entryPath(campaign, id);
          const entry = await readEntry(file);
          if (!entry || entry.loadedBy !== null) return;
          const loaded: LedgerFile = { ...entry, loadedBy: runId, loadedAt: new Date().toISOString() };
          await writeTextAtomically(file, JSON.stringify(loaded), 0o600);
        }),
      );
    },
    async listCampaigns() {
      const summaries: CampaignSummary[] = [];
      for (const folder of (await readdir(campaignsDir).catch(() => [] as string[])).sort()) {
        const names = (await readdir(path.join(campaignsDir, folder))).filter((f) => f.endsWith('.json'));
        const entries = (await readMany(names.map((f) => path.join(campaignsDir, folder, f)))).filter(
          (e): e is LedgerFile => e !== undefined,
        );
        if (entries.length === 0) continue;
        const times = entries.flatMap((e) => [e.chosenAt, e.loadedAt ?? e.chosenAt]).sort();
        summaries.push({
          campaign: decodeURIComponent(folder),
          customers: entries.length,
          loaded: entries.filter((e) => e.loadedBy !== null).length,
          firstChosenAt: entries.map((e) => e.chosenAt).sort()[0]!,
          lastChangedAt: times.at(-1)!,
        });
      }
      return summaries;
    },
    async pruneCampaigns(before) {
      const pruned: string[] = [];
      for (const folder of (await readdir(campaignsDir).catch(() => [] as string[])).sort()) {
        // A folder's time is that of the last file added or replaced in it: the campaign's last change.
        const changed = await stat(path.join(campaignsDir, folder)).catch(() => undefined);
        if (!changed || changed.mtime >= before) continue;
        await rm(path.join(campaignsDir, folder), { recursive: true, force: true });
        pruned.push(decodeURIComponent(folder));
      }
      return pruned;
    },
  };
}
