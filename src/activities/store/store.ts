// The record store: where each customer's record waits for the export, and the campaign ledger that keeps one
// message per customer per campaign; one interface whatever keeps them.
import type { Customer } from '../../customer';
import type { CustomerOutcome, InvalidRow, MessageSource, TokenUsage } from '../../outcomes';

/** What a batch leaves for the export: a customer's outcome and, when there is one, the user to export. */
export interface CustomerRecord {
  outcome: CustomerOutcome;
  customer: Customer | null;
}

/** A campaign's message for a customer: chosen once, before any load, by the run whose step wrote it first. */
export interface ChosenMessage {
  message: string;
  messageSource: MessageSource;
  model: string | null;
  tokens: TokenUsage;
  /** The run that chose it. */
  runId: string;
}

/** What the ledger holds of a customer in a campaign. */
export interface CampaignEntry extends ChosenMessage {
  /** The first run whose records said the message reached the bank; null until one did. */
  loadedBy: string | null;
}

export interface CampaignSummary {
  campaign: string;
  /** Customers with a chosen message. */
  customers: number;
  /** Of them, those whose message reached the bank. */
  loaded: number;
  firstChosenAt: string;
  lastChangedAt: string;
}

/** One message per customer per campaign, kept where every worker sees it. */
export interface CampaignLedger {
  /** The entries a campaign has for these customers, by id; one read for them all. */
  readCampaign(campaign: string, ids: number[]): Promise<Map<number, CampaignEntry>>;
  /**
   * Keeps `chosen` as the customer's message in the campaign unless one is kept already, and returns the one kept:
   * one key, so two runs choosing at once keep the same message.
   */
  chooseMessage(campaign: string, id: number, chosen: ChosenMessage): Promise<CampaignEntry>;
  /** Notes that these customers' messages reached the bank in `runId`; a customer loaded earlier keeps its run. */
  markLoaded(campaign: string, runId: string, ids: number[]): Promise<void>;
  listCampaigns(): Promise<CampaignSummary[]>;
}

/** A row of a run's input as the run reads it: a customer id, or a row set aside with its reason. */
export type InputRow = { line: number; id: number } | { line: number; invalid: InvalidRow };

/** A run's input kept in a store every host shares, so no worker needs the file. */
export interface InputRows {
  /** Adds rows of a run's input; a line saved again is left as it was. */
  saveInputRows(runId: string, rows: InputRow[]): Promise<void>;
  /** The run's rows after line `afterLine`, in line order, at most `limit` of them. */
  readInputRows(runId: string, afterLine: number, limit: number): Promise<InputRow[]>;
}

export interface RecordStore extends CampaignLedger {
  /** Present in a store every host shares: a run's input may then live in it rather than in a file. */
  inputRows?: InputRows;
  /** Saves a batch's records; saving the same record again leaves one. */
  saveRecords(runId: string, records: CustomerRecord[]): Promise<void>;
  /** A customer's record in a run; undefined when the run has none for it. */
  readRecord(runId: string, id: number): Promise<CustomerRecord | undefined>;
  /** The records a run has of these customers, by id; a customer without one is absent. One read for them all. */
  readRecords(runId: string, ids: number[]): Promise<Map<number, CustomerRecord>>;
  /**
   * Deletes the records of every run that saved none since `before`, and the ledger of every campaign that changed
   * none since; says which runs and campaigns, and how many records.
   */
  pruneRuns(before: Date): Promise<PrunedRuns>;
}

export interface PrunedRuns {
  runs: string[];
  records: number;
  campaigns: string[];
}
