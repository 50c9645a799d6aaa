import { maxBatchSize } from '../../src/workflows/api';
import { batchPlan, customersFor, lanesFor } from '../../src/workflows/lanes';

describe('batchPlan and lanesFor: how a run spreads its customers in flight over batch workflows', () => {
  /** A page long enough for every lane to take several customers of each batch. */
  const longPage = 100_000;
  /** The windows of the batches a run opens at its start, one after the other until no lane is left to give. */
  const opened = (concurrency: number, batchSize: number, rows = longPage): number[] => {
    const plan = batchPlan({ concurrency, batchSize }, rows);
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
        const plan = batchPlan({ concurrency, batchSize }, longPage);
        const inFlight = opened(concurrency, batchSize).reduce((sum, window) => sum + window, 0);
        expect({ concurrency, batchSize, over: inFlight > concurrency }).toMatchObject({ over: false });
        expect(inFlight).toBeGreaterThan(concurrency - plan.window / 2);
        expect(plan.size).toBeLessThanOrEqual(Math.min(batchSize, concurrency, maxBatchSize));
        expect(plan.window).toBeLessThanOrEqual(plan.size);
      }
  });

  test('a long page at --concurrency 100: twenty batches of 100 open, each lane taking twenty customers of its batch', () => {
    expect(batchPlan({ concurrency: 100, batchSize: 100 }, 2000)).toEqual({
      size: 100,
      window: 5,
      lanes: 100,
      waves: 20,
    });
    expect(opened(100, 100, 2000)).toEqual(Array.from({ length: 20 }, () => 5));
  });

  test('a short page still puts every lane to work: fewer waves, wider windows', () => {
    // 20 customers: one batch, all 20 in flight at once.
    expect(batchPlan({ concurrency: 100, batchSize: 100 }, 20).window).toBe(100);
    // 100 customers: one batch of 100 with all 100 in flight.
    expect(opened(100, 100, 100)).toEqual([100]);
    // 200 customers: two batches of 100, 50 in flight in each.
    expect(opened(100, 100, 200)).toEqual([50, 50]);
  });

  test('a page that fits in one generation of batches is shared out so that every batch ends at its last wave', () => {
    // The customers the batches opened at a run's start take, in order, until the page runs out.
    const shares = (concurrency: number, rows: number): { lanes: number; customers: number }[] => {
      const plan = batchPlan({ concurrency, batchSize: 100 }, rows);
      const batches: { lanes: number; customers: number }[] = [];
      let [inUse, left] = [0, rows];
      for (let lanes = lanesFor(plan, inUse); lanes > 0 && left > 0; lanes = lanesFor(plan, inUse)) {
        const customers = Math.min(left, customersFor(plan, lanes));
        batches.push({ lanes, customers });
        [inUse, left] = [inUse + lanes, left - customers];
      }
      expect(left).toBe(0); // no customer left for a second generation
      return batches;
    };
    for (const [concurrency, rows] of [
      [50, 800],
      [100, 800],
      [150, 2000],
      [100, 2000],
      [200, 800],
      [100, 150],
    ]) {
      const batches = shares(concurrency!, rows!);
      const waves = Math.ceil(rows! / concurrency!);
      // Every batch is done within the waves each lane of the page needs: none runs longer than the rest.
      for (const { lanes, customers } of batches) expect(Math.ceil(customers / lanes)).toBeLessThanOrEqual(waves);
    }
    // 800 customers at --concurrency 50: sixteen batches of 48 with 3 lanes each, and 32 for the 2 lanes left.
    expect(shares(50, 800)).toEqual([
      ...Array.from({ length: 16 }, () => ({ lanes: 3, customers: 48 })),
      { lanes: 2, customers: 32 },
    ]);
  });

  test('a batch given fewer lanes than a full window takes fewer customers, so it lasts as many waves', () => {
    const plan = batchPlan({ concurrency: 100, batchSize: 100 }, 2000);
    expect(customersFor(plan, 5)).toBe(100);
    expect(customersFor(plan, 4)).toBe(80);
    // One lane left over (a customer of another batch still retries) takes its twenty customers at once.
    expect(lanesFor(plan, 99)).toBe(1);
    expect(customersFor(plan, lanesFor(plan, 99))).toBe(20);
    expect(lanesFor(plan, 100)).toBe(0);
    // A short page's single wave: the batch takes what its lanes can hold at once.
    const short = batchPlan({ concurrency: 100, batchSize: 100 }, 200);
    expect(customersFor(short, short.window)).toBe(100);
    expect(customersFor(batchPlan({ concurrency: 1, batchSize: 100 }, 50), 1)).toBe(1);
  });
});
