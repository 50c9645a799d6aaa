// The workflow bundle's entry: every workflow the worker runs.
export { etlRun } from './etl-run';
export { personalizeBatch } from './personalize-batch';
export { llmBatch } from './llm-batch';
