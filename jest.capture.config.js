// Runs test/replay/capture-histories.ts (npm run capture-histories); not part of npm test.
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = { ...base, testMatch: ['**/test/replay/capture-histories.ts'], reporters: ['default'] };
