// Every activity of sdw-etl, bound by createActivities(deps) to the clients and the record store the worker built.
import { Context } from '@temporalio/activity';
import type { Customer } from '../customer';
import type { SinkChoice } from '../workflows/api';
import * as bankApi from './bank-api';
import { exportResults, type ExportInput, type ExportResult } from './export';
import { readUserIds, setAsideProcessed, type CsvCursor, type UserIdPage } from './extract';
import type { LlmClient } from './llm/client';
import { writeMessage, type WriteMessageInput, type WrittenMessage } from './llm';
import type { LlmQuota } from './llm/quota';
import { deliverTo } from './sinks';
import type { Delivered, Delivery } from './sinks/sink';
import type { CustomerRecord, RecordStore } from './store/store';

export interface ActivityDeps {
  /** Where each customer's record waits for the export. */
  store: RecordStore;
  /** The bank API used when a run names none. */
  apiUrl: string;
  /** undefined: offline templates instead of an LLM. */
  llm: LlmClient | undefined;
  /** The quota every worker's LLM calls share; undefined: no cap. */
  llmQuota?: LlmQuota;
}

export type LoadResult = Delivered & { attempt: number };

export const createActivities = (deps: ActivityDeps) => {
  return {
    /** A page of ids; the ids the run already processed from an earlier page are set aside as duplicates. */
    readUserIds: async (args: {
      runId: string;
      input: string;
      cursor: CsvCursor | undefined;
      pageSize: number;
    }): Promise<UserIdPage> => {
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
      if (deps.llm) await deps.llmQuota?.take();
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
    exportResults: async (args: ExportInput): Promise<ExportResult> => exportResults(deps.store, args),
  };
};

export type Activities = ReturnType<typeof createActivities>;
