// Prints one plain closing line, `tests: N passed, N failed, N skipped`, that CI reads whatever the runner.
class SummaryReporter {
  onRunComplete(_contexts, r) {
    process.stdout.write(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed, ${r.numPendingTests} skipped\n`);
  }
}
module.exports = SummaryReporter;
