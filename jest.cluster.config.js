/** @type {import('jest').Config} npm run test:cluster: the pipeline on a Temporal cluster of scripts/cluster.sh. */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
  testPathIgnorePatterns: [],
  globalSetup: '<rootDir>/test/cluster/global-setup.ts',
  globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
  // The tests kill and restart the cluster's services: one test at a time.
  maxWorkers: 1,
  reporters: ['default', ['<rootDir>/test/summary-reporter.js', { file: 'summary-cluster.json' }]],
};
