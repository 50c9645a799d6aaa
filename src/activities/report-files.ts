// Writes a run's two reports beside its export, each whole or not at all: <runId>.report.json, streamed so a list of
// any length never sits whole in memory, and <runId>.report.html, which holds that JSON.
import { createReadStream } from 'node:fs';
import { writeAtomically } from '../files';
import type { InvalidRow } from '../outcomes';
import { htmlReportPathFor, writeHtmlReport, type ReportHead } from '../report';

/**
 * Writes the JSON report (the head, the rows set aside, then the customers already written as JSON lines in
 * `customersFile`) and the HTML report made from it; returns the HTML report's path.
 */
export async function writeReportFiles(
  reportFile: string,
  head: ReportHead,
  invalidRows: InvalidRow[],
  customersFile: string,
): Promise<string> {
  await writeAtomically(reportFile, async (put) => {
    await put(
      `${JSON.stringify(head, null, 2).replace(/\n}$/, '')},\n  "invalidRows": ${JSON.stringify(invalidRows)},\n`,
    );
    await put('  "customers": [\n');
    for await (const chunk of createReadStream(customersFile)) await put(chunk as Buffer);
    await put('\n  ]\n}\n');
  });
  // The HTML report holds the JSON report as written, read back in decoded chunks.
  const htmlReportFile = htmlReportPathFor(reportFile);
  await writeAtomically(htmlReportFile, (put) =>
    writeHtmlReport(createReadStream(reportFile, { encoding: 'utf8' }), put),
  );
  return htmlReportFile;
}
