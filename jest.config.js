/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The cluster's tests run on a cluster of their own: npm run test:cluster (jest.cluster.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  setupFiles: ['<rootDir>/test/setup-logging.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  // Tests run workers against one real Temporal server; two files at a time fit two cores.
  maxWorkers: 2,
  testTimeout: 120_000,
  reporters: ['default', ['<rootDir>/test/summary-reporter.js', {}]],
};
