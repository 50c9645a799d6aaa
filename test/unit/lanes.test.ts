import { maxBatchSize } from '../../src/workflows/api';
import { batchPlan, lanesFor } from '../../src/workflows/lanes';

describe('batchPlan and lanesFor: how a run spreads its customers in flight over batch workflows', () => {
  /** The windows of the batches a run opens at its start, one after the other until no lane is left to give. */
  const opened = (concurrency: number, batchSize: number): number[] => {
    const plan = batchPlan({ concurrency, batchSize });
    const windows: number[] = [];
    let inUse = 0;
    for (let lanes = lanesFor(plan, inUse); lanes > 0; lanes = lanesFor(plan, inUse)) {
      windows.push(lanes);
      inUse += lanes;
    }
    return windows;
  };

  test('never more customers in flight than --concurrency, nearly all of them used, batches within bounds', () => {
    for (const concurrency of [1, 2, 3, 7, 20, 48, 100, 333, 1000])
      for (const batchSize of [1, 3, 10, 25, 50, 100, 500]) {
        const plan = batchPlan({ concurrency, batchSize });
        const inFlight = opened(concurrency, batchSize).reduce((sum, window) => sum + window, 0);
        expect({ concurrency, batchSize, over: inFlight > concurrency }).toMatchObject({ over: false });
        expect(inFlight).toBeGreaterThan(concurrency - plan.window / 2);
        expect(plan.size).toBeLessThanOrEqual(Math.min(batchSize, concurrency, maxBatchSize));
        expect(plan.window).toBeLessThanOrEqual(plan.size);
      }
  });

  test('a bench-sized run: batches of 50, seven with 13 customers in flight and one with the 9 lanes left', () => {
    expect(batchPlan({ concurrency: 100, batchSize: 50 })).toEqual({ size: 50, window: 13, lanes: 100 });
    expect(opened(100, 50)).toEqual([13, 13, 13, 13, 13, 13, 13, 9]);
  });
});
