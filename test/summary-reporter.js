// Ends the run with one plain line, 'tests: N passed, M failed', and keeps the counts (and each failure's first
// lines) in test-results/summary.json, so a run that executed no test shows, and .ci/run can end with what failed.
const fs = require('node:fs');
const path = require('node:path');

// Enough of a failure to name its cause; the whole message is in jest's own output above.
const failureLines = 12;

class SummaryReporter {
  /** `file`: where in test-results the counts go (summary.json unless a config names another). */
  constructor(_globalConfig, options = {}) {
    this.file = options.file ?? 'summary.json';
  }

  onRunComplete(_contexts, results) {
    const failures = [];
    for (const file of results.testResults) {
      const name = path.relative(process.cwd(), file.testFilePath);
      if (file.testExecError) failures.push({ test: name, message: firstLines(file.testExecError.message) });
      for (const test of file.testResults) {
        if (test.status === 'failed') {
          failures.push({ test: `${name} › ${test.fullName}`, message: firstLines(test.failureMessages.join('\n')) });
        }
      }
    }
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      failures,
    };
    const dir = path.resolve(__dirname, '..', 'test-results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, this.file), JSON.stringify(summary));
    process.stdout.write(
      `tests: ${summary.passed} passed, ${summary.failed} failed${summary.skipped ? `, ${summary.skipped} skipped` : ''}\n`,
    );
  }
}

function firstLines(text) {
  // eslint-disable-next-line no-control-regex -- jest's messages carry terminal colours
  return text
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .slice(0, failureLines)
    .join('\n');
}
module.exports = SummaryReporter;
