// What a run id may be: the one rule every entry point checks (the CLI, a run started in the Web UI, the record
// store), since a run id names a workflow and becomes a folder name on a worker's disk.

const runIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const validRunId = (id: string): boolean => runIdPattern.test(id) && !id.includes('..');

/** The sentence for a run id that breaks the rule. */
export const runIdProblem = (id: string): string =>
  `The run id "${id}" must be 1 to 100 letters, digits, dots, dashes or underscores, starting with a letter or digit.`;

/** The run a workflow belongs to: the run's own id, or the part of a batch's id before its `/lines-…`. */
export const runIdOf = (workflowId: string): string => workflowId.split('/')[0]!;
