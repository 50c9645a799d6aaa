// A workflow interceptor module (runs in the workflow sandbox): the bank API's outage state as each run sees it,
// through the SDK's workflow metric meter, which records nothing while a workflow replays.
import {
  ContinueAsNew,
  metricMeter,
  workflowInfo,
  type Next,
  type SignalWorkflowInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import type { BankApiState } from '../workflows/api';
import { metricNames } from './metrics';

const bankApiDown = (): ReturnType<typeof metricMeter.createGauge> =>
  metricMeter.createGauge(metricNames.bankApiDown, 'int', undefined, 'The bank API answers no one, as a run sees it');

/** The run tells its batches every change of the bank API's state: the same news is the gauge's. */
const outbound: WorkflowOutboundCallsInterceptor = {
  async signalWorkflow(input: SignalWorkflowInput, next: Next<WorkflowOutboundCallsInterceptor, 'signalWorkflow'>) {
    if (input.signalName === 'bankApiState' && workflowInfo().workflowType === 'etlRun') {
      const state = input.args[0] as BankApiState;
      bankApiDown().set(state.status === 'up' ? 0 : 1, { run_id: workflowInfo().workflowId });
    }
    return next(input);
  },
};

/** A run that ends (not one that continues as new) is no longer waiting for the bank API. */
const inbound: WorkflowInboundCallsInterceptor = {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>) {
    if (workflowInfo().workflowType !== 'etlRun') return next(input);
    let ended = true;
    try {
      return await next(input);
    } catch (err) {
      if (err instanceof ContinueAsNew) ended = false;
      throw err;
    } finally {
      if (ended) bankApiDown().set(0, { run_id: workflowInfo().workflowId });
    }
  },
};

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [inbound], outbound: [outbound] });
