// Output for scripts: the --json option and its one JSON document on standard output (fields in docs/operations.md).
import { Option } from 'commander';

/** The --json option of a command; the command then prints one JSON document and nothing else on standard output. */
export const jsonOption = (): Option =>
  new Option('--json', 'print one JSON document for scripts (fields in docs/operations.md), same exit codes');

/** Characters JSON.stringify leaves raw that a terminal could act on (C1 controls, bidi and invisible marks). */
const unsafeForTerminal = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu;
const escaped = (char: string): string =>
  Array.from({ length: char.length }, (_, i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');

/**
 * Prints a command's one JSON document: field names stable, dates as ISO strings, absent values as null, and
 * outside text (messages, reasons) escaped so that it reads back the same yet shows nothing raw on a terminal.
 */
export function jsonText(document: object): string {
  return JSON.stringify(document, (_key, value: unknown) => value ?? null, 2).replace(unsafeForTerminal, escaped);
}

export function printJson(document: object): void {
  process.stdout.write(`${jsonText(document)}\n`);
}

/**
 * Where a command's lines for people go: standard output, or standard error under --json so that standard
 * output holds the JSON document alone.
 */
export const sayFor =
  (flags: { json?: boolean }) =>
  (line: string): void => {
    if (flags.json) console.error(line);
    else console.log(line);
  };
