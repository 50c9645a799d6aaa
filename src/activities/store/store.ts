// The record store: where each customer's record waits for the export, one interface whatever keeps it.
import type { Customer } from '../../customer';
import type { CustomerOutcome } from '../../outcomes';

/** What a batch leaves for the export: a customer's outcome and, when there is one, the user to export. */
export interface CustomerRecord {
  outcome: CustomerOutcome;
  customer: Customer | null;
}

export interface RecordStore {
  /** Saves a batch's records; saving the same record again leaves one. */
  saveRecords(runId: string, records: CustomerRecord[]): Promise<void>;
  /** A customer's record in a run; undefined when the run has none for it. */
  readRecord(runId: string, id: number): Promise<CustomerRecord | undefined>;
  /** The records a run has of these customers, by id; a customer without one is absent. One read for them all. */
  readRecords(runId: string, ids: number[]): Promise<Map<number, CustomerRecord>>;
  /** Deletes the records of every run that saved none since `before`; says which runs and how many records. */
  pruneRuns(before: Date): Promise<PrunedRuns>;
}

export interface PrunedRuns {
  runs: string[];
  records: number;
}
