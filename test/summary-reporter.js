// Ends the run with one plain line, 'tests: N passed, M failed', and keeps the counts in
// test-results/summary.json, so a run that executed no test shows.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  /** `file`: where in test-results the counts go (summary.json unless a config names another). */
  constructor(_globalConfig, options = {}) {
    this.file = options.file ?? 'summary.json';
  }

  onRunComplete(_contexts, results) {
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    const dir = path.resolve(__dirname, '..', 'test-results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, this.file), JSON.stringify(summary));
    process.stdout.write(
      `tests: ${summary.passed} passed, ${summary.failed} failed${summary.skipped ? `, ${summary.skipped} skipped` : ''}\n`,
    );
  }
}
module.exports = SummaryReporter;
