import { Context } from '@temporalio/activity';
import type { Customer } from '../customer';
import type { CsvCursor, UserIdPage } from '../shared';
import * as bankApi from './bank-api';
import * as exporter from './export';
import { readUserIds } from './extract';
import { whileHeartbeating } from './heartbeat';
import * as llm from './llm';

export interface ActivityDeps {
  /** Where runs keep per-customer records until the export. */
  dataDir: string;
  /** The bank API used when a run names none. */
  apiUrl: string;
  /** undefined: offline templates instead of an LLM. */
  llm: llm.LlmClient | undefined;
  /** LLM calls per second in this worker process; undefined: no pacing. */
  llmRatePerSecond?: number;
}

/** Every activity of sdw-etl, bound to the clients the worker built from its configuration. */
export const createActivities = (deps: ActivityDeps) => {
  const paceLlmCall = llm.createPacer(deps.llm ? deps.llmRatePerSecond : undefined);
  return {
    /** A page of ids; with the run's id, the ids the run already processed from an earlier page are duplicates. */
    readUserIds: async (args: {
      input: string;
      cursor: CsvCursor | undefined;
      pageSize: number;
      runId?: string;
    }): Promise<UserIdPage> => {
      const page = await readUserIds(args.input, args.cursor, args.pageSize);
      if (args.runId === undefined) return page;
      return exporter.setAsideProcessed(deps.dataDir, args.runId, page);
    },
    fetchCustomer: async (args: {
      apiUrl: string | undefined;
      id: number;
    }): Promise<{ customer: Customer; attempt: number }> => {
      const customer = await whileHeartbeating(() => bankApi.fetchCustomer(args.apiUrl ?? deps.apiUrl, args.id));
      return { customer, attempt: Context.current().info.attempt };
    },
    writeMessage: async (args: llm.WriteMessageInput): Promise<llm.WrittenMessage> => {
      await paceLlmCall();
      return whileHeartbeating(() => llm.writeMessage(deps.llm, args));
    },
    loadCustomer: async (args: {
      apiUrl: string | undefined;
      id: number;
      message: string;
    }): Promise<bankApi.LoadResult & { attempt: number }> => {
      const result = await whileHeartbeating(() =>
        bankApi.loadCustomer(args.apiUrl ?? deps.apiUrl, args.id, args.message),
      );
      return { ...result, attempt: Context.current().info.attempt };
    },
    recordOutcome: async (args: { runId: string; record: exporter.CustomerRecord }): Promise<void> => {
      return exporter.recordOutcome(deps.dataDir, args.runId, args.record);
    },
    recordOutcomes: async (args: { runId: string; records: exporter.CustomerRecord[] }): Promise<void> => {
      await Promise.all(args.records.map((record) => exporter.recordOutcome(deps.dataDir, args.runId, record)));
    },
    exportResults: async (args: exporter.ExportInput): Promise<exporter.ExportResult> => {
      return exporter.exportResults(deps.dataDir, args);
    },
  };
};

export type Activities = ReturnType<typeof createActivities>;
export type { CustomerRecord, ExportResult } from './export';
export type { WrittenMessage } from './llm';
