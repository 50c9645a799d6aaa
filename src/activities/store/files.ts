// The record store on one machine's disk: a JSON file per customer under <dataDir>/runs/<runId>/customers/, and the
// campaign ledger beside it.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { failureTypes } from '../../failures';
import { readJsonIfAny, writeTextAtomically } from '../../files';
import { runIdProblem, validRunId } from '../../run-id';
import { activityFailure } from '../failure';
import { createFileLedger } from './file-campaigns';
import type { CustomerRecord, RecordStore } from './store';

/** Record files read at the same time. */
const filesReadAtOnce = 256;

export function createFileStore(dataDir: string): RecordStore {
  const ledger = createFileLedger(dataDir);
  const recordPath = (runId: string, id: number): string => {
    // A run id becomes a folder name: one that could climb out of the data folder never does.
    if (!validRunId(runId))
      throw activityFailure(failureTypes.inputInvalid, runIdProblem(runId), { nonRetryable: true });
    return path.join(dataDir, 'runs', runId, 'customers', `${id}.json`);
  };

  const readRecord = (runId: string, id: number): Promise<CustomerRecord | undefined> =>
    readJsonIfAny<CustomerRecord>(recordPath(runId, id));

  return {
    ...ledger,
    async saveRecords(runId, records) {
      if (records.length === 0) return;
      const save = (): Promise<unknown> =>
        Promise.all(
          records.map((record) =>
            writeTextAtomically(recordPath(runId, record.outcome.id), JSON.stringify(record), 0o600),
          ),
        );
      // The run's folder is made by its first save: the others find it there.
      await save().catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        // Customer data: folders only the worker's user can enter, files only it can read.
        await mkdir(path.dirname(recordPath(runId, records[0]!.outcome.id)), { recursive: true, mode: 0o700 });
        await save();
      });
    },
    readRecord,
    async pruneRuns(before) {
      const runsDir = path.join(dataDir, 'runs');
      const pruned = { runs: [] as string[], records: 0, campaigns: await ledger.pruneCampaigns(before) };
      const runIds = await readdir(runsDir).catch(() => [] as string[]);
      for (const runId of runIds.sort()) {
        const customers = path.join(runsDir, runId, 'customers');
        // A folder's time is that of the last file added to it: the run's last save.
        const saved = await stat(customers).catch(() => undefined);
        if (!saved || saved.mtime >= before) continue;
        pruned.records += (await readdir(customers)).filter((f) => f.endsWith('.json')).length;
        await rm(path.join(runsDir, runId), { recursive: true, force: true });
        pruned.runs.push(runId);
      }
      return pruned;
    },
    async readRecords(runId, ids) {
      const found = new Map<number, CustomerRecord>();
      // A page may name 20,000 customers: so many files open at once could pass the process's limit.
      for (let start = 0; start < ids.length; start += filesReadAtOnce) {
        const chunk = ids.slice(start, start + filesReadAtOnce);
        const records = await Promise.all(chunk.map((id) => readRecord(runId, id)));
        records.forEach((record, i) => record && found.set(chunk[i]!, record));
      }
      return found;
    },
  };
}
