// Every activity of sdw-etl, bound by createActivities(deps) to the clients and the record store the worker built.
import { Context, log } from '@temporalio/activity';
import type { Customer } from '../customer';
import type { TokenUsage } from '../outcomes';
import { failureTypes } from '../failures';
import { inputProblem, outputProblem, type AllowedFolders } from '../paths';
import type { SinkChoice } from '../workflows/api';
import * as bankApi from './bank-api';
import { exportResults, type ExportInput, type ExportResult } from './export';
import {
  readUserIds,
  runInputRows,
  setAsideProcessed,
  type CsvCursor,
  type RunInput,
  type UserIdPage,
} from './extract';
import type { LlmClient } from './llm/client';
import { writeMessage, type WriteMessageInput, type WrittenMessage } from './llm';
import { createBatchActivities } from './llm/batch';
import type { LlmQuota } from './llm/quota';
import { deliverTo, loadsIntoBank } from './sinks';
import type { Delivered, Delivery } from './sinks/sink';
import type { CampaignEntry, ChosenMessage, CustomerRecord, RecordStore } from './store/store';
import { activityFailure } from './failure';
import { firstTries, type FirstTries, type FirstTriesInput, type Settle, type StepObserver } from './first-try';
import { reachedBank, settledRecord } from '../records';

export interface ActivityDeps {
  /** Where each customer's record waits for the export. */
  store: RecordStore;
  /** The bank API used when a run names none. */
  apiUrl: string;
  /** undefined: offline templates instead of an LLM. */
  llm: LlmClient | undefined;
  /** The quota every worker's LLM calls share; undefined: no cap. */
  llmQuota?: LlmQuota;
  /** The only folders a run may read its list from and write its export to. */
  folders: AllowedFolders;
  /** Each step of a customer's first try (the step activities are measured by the worker's interceptor). */
  observeStep?: StepObserver;
  /** The records the first tries save (recordOutcomes' are counted by the worker's interceptor). */
  observeSaved?: (runId: string, records: CustomerRecord[]) => void;
}

export type LoadResult = Delivered & { attempt: number };
export type LoadInput = Omit<Delivery, 'apiUrl'> & { apiUrl: string | undefined; sink: SinkChoice };

/** Where a customer's message is kept in its campaign: absent for mock data, whose message is never kept. */
export interface CampaignKey {
  campaign: string;
  runId: string;
}

/** A message and the run that chose it for the campaign (null: no campaign keeps it). */
export type CampaignMessage = WrittenMessage & { chosenBy: string | null };
export type WriteInput = WriteMessageInput & { kept?: CampaignKey };

const noTokens = { promptTokens: 0, completionTokens: 0 };

export const createActivities = (deps: ActivityDeps) => {
  /** Refuses, for good, a run whose input or output lies outside the worker's folders (symlinks followed). */
  const confine = async (paths: { input?: string; output?: string; exportFailure?: boolean }): Promise<void> => {
    const problem =
      (paths.input === undefined ? undefined : await inputProblem(paths.input, deps.folders)) ??
      (paths.output === undefined ? undefined : await outputProblem(paths.output, deps.folders));
    if (problem === undefined) return;
    const type = paths.exportFailure ? failureTypes.exportFailed : failureTypes.inputInvalid;
    throw activityFailure(type, problem, { nonRetryable: true });
  };
  const steps = customerSteps(deps);
  return {
    // Batch mode: the page's messages asked for through the provider's Batch API and kept in the campaign ledger.
    ...createBatchActivities(deps),
    /** A page of ids; the ids the run already processed from an earlier page are set aside as duplicates. */
    readUserIds: async (
      args: RunInput & {
        cursor: CsvCursor | undefined;
        pageSize: number;
        /** The run's export, checked with its first page so a run that could not export never starts. */
        output?: string;
      },
    ): Promise<UserIdPage> => {
      // A stored input is no file of this worker's: only a file is confined.
      await confine({
        input: args.inputStored ? undefined : args.input,
        output: args.cursor ? undefined : args.output,
      });
      const page = await readUserIds(runInputRows(args, deps.store.inputRows, args.cursor), args.pageSize);
      // The first page has no earlier page whose records could hold its ids.
      if (args.cursor === undefined) return page;
      return setAsideProcessed(page, (ids) => deps.store.readRecords(args.runId, ids));
    },
    fetchCustomer: async (args: {
      apiUrl: string | undefined;
      id: number;
    }): Promise<{ customer: Customer; attempt: number }> => {
      return { customer: await steps.fetch(args), attempt: Context.current().info.attempt };
    },
    /** Whether the bank API answers anyone, asked about a customer other than the one whose step failed. */
    probeBankApi: async (args: { apiUrl: string | undefined; id: number }): Promise<boolean> =>
      bankApi.bankApiAnswers(args.apiUrl ?? deps.apiUrl, args.id),
    /** A campaign customer's message is written once: a message already chosen is returned, never asked again. */
    writeMessage: async (args: WriteInput): Promise<CampaignMessage> =>
      steps.write(args, Context.current().info.attempt),
    /** Keeps a message the workflow chose (a template) unless the campaign has one; returns the one kept. */
    chooseMessage: async (args: { kept: CampaignKey; id: number; chosen: Omit<ChosenMessage, 'runId'> }) => {
      const entry = await deps.store.chooseMessage(args.kept.campaign, args.id, {
        ...args.chosen,
        runId: args.kept.runId,
      });
      return campaignMessage(entry, args.kept.runId, null, Context.current().info.attempt);
    },
    /**
     * The customers of a batch whose campaign message reached the bank in another run, with that message. Those this
     * run loaded (a batch run again after its records were saved) go through their steps again, which change nothing.
     */
    loadedInCampaign: (args: LoadedInCampaignInput): Promise<LoadedBefore[]> => loadedInCampaign(deps.store, args),
    /** Delivers a customer to the run's sinks; `attempt` is 0 when no sink had anything to do. */
    loadCustomer: async (args: LoadInput): Promise<LoadResult> => steps.load(args, Context.current().info.attempt),
    /**
     * A batch's customers in one activity (src/activities/first-try.ts): the campaign's ledger read once, then each
     * other customer's three steps, one attempt each; every customer who needs nothing more (those whose message
     * reached the bank in another run too) is settled, its record saved.
     */
    firstTries: async (args: FirstTriesInput): Promise<FirstTries> => {
      const { runId, campaign } = args.kept;
      const ids = args.customers.map((c) => c.id);
      const ledger = await deps.store.readCampaign(campaign, ids);
      const loadedBefore = new Map(loadedElsewhere(ledger, runId).map((entry) => [entry.id, entry]));
      const lines = new Map(args.customers.map((c) => [c.id, c.line]));
      const save = settledSaver(deps, { ...args.kept, sink: args.sink }, Context.current().info.attempt > 1);
      const settle: Settle = async (id, tried) => {
        const record = settledRecord({ runId, campaign, id, line: lines.get(id)! }, loadedBefore.get(id), tried);
        if (record) await save(record);
        return record?.outcome;
      };
      return firstTries(steps, args, ledger, settle, deps.observeStep);
    },
    /** Saves a batch's records, then notes in the campaign the customers whose message reached the bank. */
    recordOutcomes: async (args: {
      runId: string;
      records: CustomerRecord[];
      loadedInto: { campaign: string; ids: number[] };
    }): Promise<void> => {
      await deps.store.saveRecords(args.runId, args.records);
      await deps.store.markLoaded(args.loadedInto.campaign, args.runId, args.loadedInto.ids);
    },
    exportResults: async (args: ExportInput): Promise<ExportResult> => {
      await confine({ input: args.inputStored ? undefined : args.input, output: args.output, exportFailure: true });
      const result = await exportResults(deps.store, args, (rows) => Context.current().heartbeat(rows));
      log.info('Run exported', { runId: args.runId, exportFile: result.exportPath, reportFile: result.reportPath });
      return result;
    },
  };
};

interface LoadedInCampaignInput {
  campaign: string;
  runId: string;
  ids: number[];
}

/** A customer whose campaign message reached the bank in another run: that message, and the run. */
export interface LoadedBefore {
  id: number;
  message: string;
  loadedBy: string;
}

async function loadedInCampaign(store: RecordStore, args: LoadedInCampaignInput): Promise<LoadedBefore[]> {
  return loadedElsewhere(await store.readCampaign(args.campaign, args.ids), args.runId);
}

/** The ledger's entries whose message reached the bank in another run than `runId`. */
const loadedElsewhere = (entries: Map<number, CampaignEntry>, runId: string): LoadedBefore[] =>
  [...entries].flatMap(([id, { loadedBy, message }]) =>
    loadedBy === null || loadedBy === runId ? [] : [{ id, message, loadedBy }],
  );

/**
 * Saves a settled customer's record, then notes in the campaign a message that reached the bank, as recordOutcomes
 * does for a batch. `mayBeSaved`: a retried attempt, which may save again a customer its dead predecessor saved; the
 * worker's metrics count each customer once.
 */
function settledSaver(deps: ActivityDeps, where: CampaignKey & { sink: SinkChoice }, mayBeSaved: boolean) {
  const { runId, campaign, sink } = where;
  return async (record: CustomerRecord): Promise<void> => {
    const { id } = record.outcome;
    const savedBefore = mayBeSaved && (await deps.store.readRecords(runId, [id])).has(id);
    await deps.store.saveRecords(runId, [record]);
    if (reachedBank(record.outcome, sink)) await deps.store.markLoaded(campaign, runId, [id]);
    if (!savedBefore) deps.observeSaved?.(runId, [record]);
  };
}

/** A customer's steps as plain functions: the step activities and the customer's first try share them. */
function customerSteps(deps: ActivityDeps) {
  return {
    fetch: (args: { apiUrl: string | undefined; id: number }): Promise<Customer> =>
      bankApi.fetchCustomer(args.apiUrl ?? deps.apiUrl, args.id),
    /**
     * A campaign customer's message is written once: a message already chosen is returned, never asked again.
     * `firstTry`: the customer's entry as the first tries read it (with their batch's), and what they start once a
     * new message is written, while it is being kept.
     */
    async write(
      args: WriteInput,
      attempt: number,
      firstTry?: { entry: CampaignEntry | undefined; whileKeeping: () => void },
    ): Promise<CampaignMessage> {
      const { kept, ...input } = args;
      const chosen =
        kept && (firstTry ? firstTry.entry : (await deps.store.readCampaign(kept.campaign, [input.id])).get(input.id));
      if (kept && chosen) return campaignMessage(chosen, kept.runId, null, attempt);
      if (deps.llm) await deps.llmQuota?.take();
      const written = await writeMessage(deps.llm, input);
      if (!kept) return { ...written, chosenBy: null };
      firstTry?.whileKeeping();
      const entry = await deps.store.chooseMessage(kept.campaign, input.id, { ...written, runId: kept.runId });
      // Another run chose first: its message is the campaign's, and the tokens spent here are still spent.
      return campaignMessage(entry, kept.runId, written.tokens, attempt);
    },
    /** The GET a load into the bank API starts with, sent ahead; undefined when the run's sinks leave the bank alone. */
    askBeforeLoad(sink: SinkChoice, apiUrl: string | undefined, id: number): Promise<Customer> | undefined {
      return loadsIntoBank(sink) ? bankApi.customerBeforeLoad(apiUrl ?? deps.apiUrl, id) : undefined;
    },
    /**
     * Delivers a customer to the run's sinks; `attempt` is 0 when no sink had anything to do. `asked`: the GET of
     * askBeforeLoad, when it was sent.
     */
    async load(args: LoadInput, attempt: number, asked?: Promise<Customer>): Promise<LoadResult> {
      const { sink, ...delivery } = args;
      const delivered = await deliverTo(sink, { ...delivery, apiUrl: args.apiUrl ?? deps.apiUrl }, asked);
      return { ...delivered, attempt: delivered.wrote ? attempt : 0 };
    },
  };
}

export type CustomerSteps = ReturnType<typeof customerSteps>;

/**
 * The campaign's message as a step's result. `spent`: the tokens this call spent (null: it asked the LLM nothing); a
 * step run again (a retry, a replayed batch) finds its own run's message, whose tokens this run did spend.
 */
function campaignMessage(entry: CampaignEntry, runId: string, spent: TokenUsage | null, attempt: number) {
  return {
    message: entry.message,
    messageSource: entry.messageSource,
    model: entry.model,
    tokens: spent ?? (entry.runId === runId ? entry.tokens : noTokens),
    attempt,
    chosenBy: entry.runId,
  } satisfies CampaignMessage;
}

export type Activities = ReturnType<typeof createActivities>;
