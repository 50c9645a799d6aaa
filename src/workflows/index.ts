// The workflow bundle's entry: every workflow the worker runs.
export { etlRun } from './etl-run';
export { personalizeCustomer } from './personalize-customer';
