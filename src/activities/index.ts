// Every activity of sdw-etl, bound by createActivities(deps) to the clients and the record store the worker built.
import { Context } from '@temporalio/activity';
import type { Customer } from '../customer';
import { failureTypes } from '../failures';
import { inputProblem, outputProblem, type AllowedFolders } from '../paths';
import type { SinkChoice } from '../workflows/api';
import * as bankApi from './bank-api';
import { exportResults, type ExportInput, type ExportResult } from './export';
import { readUserIds, setAsideProcessed, type CsvCursor, type UserIdPage } from './extract';
import type { LlmClient } from './llm/client';
import { writeMessage, type WriteMessageInput, type WrittenMessage } from './llm';
import { createPacer } from './llm/pacer';
import { deliverTo } from './sinks';
import type { Delivered, Delivery } from './sinks/sink';
import type { CustomerRecord, RecordStore } from './store/store';
import { activityFailure } from './failure';

export interface ActivityDeps {
  /** Where each customer's record waits for the export. */
  store: RecordStore;
  /** The bank API used when a run names none. */
  apiUrl: string;
  /** undefined: offline templates instead of an LLM. */
  llm: LlmClient | undefined;
  /** LLM calls per second in this worker process; undefined: no pacing. */
  llmRatePerSecond?: number;
  /** The only folders a run may read its list from and write its export to. */
  folders: AllowedFolders;
}

export type LoadResult = Delivered & { attempt: number };

export const createActivities = (deps: ActivityDeps) => {
  const paceLlmCall = createPacer(deps.llm ? deps.llmRatePerSecond : undefined);
  /** Refuses, for good, a run whose input or output lies outside the worker's folders (symlinks followed). */
  const confine = async (paths: { input: string; output?: string; exportFailure?: boolean }): Promise<void> => {
    const problem =
      (await inputProblem(paths.input, deps.folders)) ??
      (paths.output === undefined ? undefined : await outputProblem(paths.output, deps.folders));
    if (problem === undefined) return;
    const type = paths.exportFailure ? failureTypes.exportFailed : failureTypes.inputInvalid;
    throw activityFailure(type, problem, { nonRetryable: true });
  };
  return {
    /** A page of ids; the ids the run already processed from an earlier page are set aside as duplicates. */
    readUserIds: async (args: {
      runId: string;
      input: string;
      cursor: CsvCursor | undefined;
      pageSize: number;
      /** The run's export, checked with its first page so a run that could not export never starts. */
      output?: string;
    }): Promise<UserIdPage> => {
      await confine({ input: args.input, output: args.cursor ? undefined : args.output });
      const page = await readUserIds(args.input, args.cursor, args.pageSize);
      return setAsideProcessed(page, (ids) => deps.store.readRecords(args.runId, ids));
    },
    fetchCustomer: async (args: {
      apiUrl: string | undefined;
      id: number;
    }): Promise<{ customer: Customer; attempt: number }> => {
      const customer = await bankApi.fetchCustomer(args.apiUrl ?? deps.apiUrl, args.id);
      return { customer, attempt: Context.current().info.attempt };
    },
    /** Whether the bank API answers anyone, asked about a customer other than the one whose step failed. */
    probeBankApi: async (args: { apiUrl: string | undefined; id: number }): Promise<boolean> =>
      bankApi.bankApiAnswers(args.apiUrl ?? deps.apiUrl, args.id),
    writeMessage: async (args: WriteMessageInput): Promise<WrittenMessage> => {
      await paceLlmCall();
      return writeMessage(deps.llm, args);
    },
    /** Delivers a customer to the run's sinks; `attempt` is 0 when no sink had anything to do. */
    loadCustomer: async (
      args: Omit<Delivery, 'apiUrl'> & { apiUrl: string | undefined; sink: SinkChoice },
    ): Promise<LoadResult> => {
      const { sink, ...delivery } = args;
      const delivered = await deliverTo(sink, { ...delivery, apiUrl: args.apiUrl ?? deps.apiUrl });
      return { ...delivered, attempt: delivered.wrote ? Context.current().info.attempt : 0 };
    },
    recordOutcomes: async (args: { runId: string; records: CustomerRecord[] }): Promise<void> => {
      await deps.store.saveRecords(args.runId, args.records);
    },
    exportResults: async (args: ExportInput): Promise<ExportResult> => {
      await confine({ ...args, exportFailure: true });
      return exportResults(deps.store, args);
    },
  };
};

export type Activities = ReturnType<typeof createActivities>;
