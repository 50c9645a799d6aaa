// Writes a run's two reports beside its export, each whole or not at all: <runId>.report.json, streamed so a list of
// any length never sits whole in memory, and <runId>.report.html, bounded in size (see report-digest.ts).
import { createReadStream } from 'node:fs';
import { writeAtomically } from '../files';
import type { InvalidRow } from '../outcomes';
import { htmlReportPathFor, writeHtmlReport, type ReportHead } from '../report';
import type { ReportDigest } from '../report-digest';

/**
 * Writes the JSON report (the head, the rows set aside, then the customers already written as JSON lines in
 * `customersFile`) and the HTML report (the head, the digest's overview and the customers it lists); returns the
 * HTML report's path.
 */
export async function writeReportFiles(
  reportFile: string,
  head: ReportHead,
  invalidRows: InvalidRow[],
  customersFile: string,
  digest: ReportDigest,
): Promise<string> {
  await writeAtomically(reportFile, async (put) => {
    await put(
      `${JSON.stringify(head, null, 2).replace(/\n}$/, '')},\n  "invalidRows": ${JSON.stringify(invalidRows)},\n`,
    );
    await put('  "customers": [\n');
    for await (const chunk of createReadStream(customersFile)) await put(chunk as Buffer);
    await put('\n  ]\n}\n');
  });
  const htmlReportFile = htmlReportPathFor(reportFile);
  await writeAtomically(htmlReportFile, (put) => writeHtmlReport(head, digest, invalidRows, put));
  return htmlReportFile;
}
