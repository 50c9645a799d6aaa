// What the HTML report holds, bounded whatever the run's length: the overview its charts draw (reasons, sources,
// time per stage) tallied over every customer, and the customers it lists: all of them while they fit, else those
// that need attention, up to a size. The full list is always in the JSON report beside it.
import { steps, type Step } from './outcomes';
import type { InvalidRow } from './outcomes';
import type { ReportedCustomer } from './report';

/** An HTML report stays under 10 MB, which any browser opens at once: its page, overview and lists stay under this. */
export const maxHtmlReportBytes = 10 * 2 ** 20;
/** The customers the HTML report lists, as JSON: with the rows set aside and the page, under maxHtmlReportBytes. */
export const listedCustomersBytes = 8 * 2 ** 20;
/** The rows set aside the HTML report lists, as JSON. */
export const listedInvalidRowsBytes = 2 ** 20 / 2;

/** Lower edges of the time-per-stage histogram's bins, in milliseconds; the last bin has no upper edge. */
export const stageTimeEdges = [0, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

export interface StageTimes {
  /** Customers whose step ran. */
  count: number;
  /** Customers per bin of stageTimeEdges. */
  bins: number[];
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export interface ReportOverview {
  /** Customers per reason (or per "nothing to report"), most first. */
  reasons: [string, number][];
  fromApi: number;
  byLlm: number;
  stages: Record<Step, StageTimes>;
  /** Customers in the run's report; `customersListed` of them are listed in the HTML report. */
  customers: number;
  /** all: every customer is listed; attention: only those that need attention, as many as fit. */
  customersShown: 'all' | 'attention';
  customersListed: number;
  invalidRows: number;
  invalidRowsListed: number;
}

/** A customer whose outcome someone should look at: not loaded, or loaded from mock data instead of the bank's. */
export const needsAttention = (customer: ReportedCustomer): boolean =>
  customer.status !== 'loaded' || customer.source === 'mock';

const reasonOf = (customer: ReportedCustomer): string =>
  customer.error ? customer.error.reason : customer.status === 'loaded' ? '(loaded, nothing to report)' : '(none)';

/** What a JSON text takes in the HTML report: its UTF-8 bytes, each "<" written as \u003c, and a comma. */
function embeddedBytes(json: string): number {
  let escaped = 0;
  for (let at = json.indexOf('<'); at >= 0; at = json.indexOf('<', at + 1)) escaped += 5;
  return Buffer.byteLength(json) + escaped + 1;
}

/** Nearest-rank quantile of durations kept as counts per millisecond value. */
function quantile(sorted: [number, number][], total: number, q: number): number | null {
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [ms, n] of sorted) {
    seen += n;
    if (seen >= rank) return ms;
  }
  return null;
}

/**
 * Tallies the overview over every customer and keeps the ones to list, as JSON text: every customer while the list
 * fits listedCustomersBytes, and from the moment it does not, those that need attention, up to that size.
 */
export class ReportDigest {
  private readonly reasons = new Map<string, number>();
  private fromApi = 0;
  private byLlm = 0;
  private customers = 0;
  /** Per step, customers per duration in whole milliseconds: few distinct values, exact quantiles. */
  private readonly times = Object.fromEntries(steps.map((step) => [step, new Map<number, number>()])) as Record<
    Step,
    Map<number, number>
  >;
  private all: string[] | undefined = [];
  private allBytes = 0;
  private attention: string[] = [];
  private attentionBytes = 0;
  private attentionFull = false;

  add(customer: ReportedCustomer, json = JSON.stringify(customer)): void {
    this.customers += 1;
    const bytes = embeddedBytes(json);
    const reason = reasonOf(customer);
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    if (customer.source === 'api') this.fromApi += 1;
    if (customer.messageSource === 'llm') this.byLlm += 1;
    for (const step of steps) {
      const ms = Math.round(customer.durationsMs?.[step] ?? 0);
      if (ms > 0) this.times[step].set(ms, (this.times[step].get(ms) ?? 0) + 1);
    }
    if (this.all) {
      this.allBytes += bytes;
      if (this.allBytes <= listedCustomersBytes) this.all.push(json);
      else this.all = undefined;
    }
    if (needsAttention(customer) && !this.attentionFull) {
      this.attentionBytes += bytes;
      if (this.attentionBytes <= listedCustomersBytes) this.attention.push(json);
      else this.attentionFull = true;
    }
  }

  /** The customers to list, as JSON texts, and the overview saying which they are. */
  result(invalidRows: InvalidRow[]): { overview: ReportOverview; customers: string[]; invalidRows: InvalidRow[] } {
    const customers = this.all ?? this.attention;
    const listedRows: InvalidRow[] = [];
    let rowBytes = 0;
    for (const row of invalidRows) {
      rowBytes += embeddedBytes(JSON.stringify(row));
      if (rowBytes > listedInvalidRowsBytes) break;
      listedRows.push(row);
    }
    const stages = Object.fromEntries(
      steps.map((step) => {
        const sorted = [...this.times[step]].sort((a, b) => a[0] - b[0]);
        const count = sorted.reduce((sum, [, n]) => sum + n, 0);
        const bins = stageTimeEdges.map(() => 0);
        for (const [ms, n] of sorted) {
          let bin = stageTimeEdges.length - 1;
          while (ms < stageTimeEdges[bin]!) bin -= 1;
          bins[bin]! += n;
        }
        const times: StageTimes = {
          count,
          bins,
          p50: quantile(sorted, count, 0.5),
          p95: quantile(sorted, count, 0.95),
          max: sorted.at(-1)?.[0] ?? null,
        };
        return [step, times];
      }),
    ) as Record<Step, StageTimes>;
    return {
      overview: {
        reasons: [...this.reasons].sort((a, b) => b[1] - a[1]),
        fromApi: this.fromApi,
        byLlm: this.byLlm,
        stages,
        customers: this.customers,
        customersShown: this.all ? 'all' : 'attention',
        customersListed: customers.length,
        invalidRows: invalidRows.length,
        invalidRowsListed: listedRows.length,
      },
      customers,
      invalidRows: listedRows,
    };
  }
}
