// The folders a worker may read lists from (SDW_INPUT_DIRS) and write exports and reports to (SDW_OUTPUT_DIR): every
// run's paths are checked against them on the worker, real paths resolved, whatever started the run.
import { realpath } from 'node:fs/promises';
import path from 'node:path';

export interface AllowedFolders {
  /** Folders whose files a run may read as its input. */
  inputDirs: string[];
  /** Folders a run may write its export and reports into (SDW_OUTPUT_DIR, plus what an embedded worker is given). */
  outputDirs: string[];
}

/** The folders from SDW_INPUT_DIRS (a list split like PATH) and SDW_OUTPUT_DIR, by default `data/` and `output/`. */
export function allowedFoldersFrom(
  inputDirs: string | undefined,
  outputDir: string | undefined,
  cwd = process.cwd(),
): AllowedFolders {
  const list = (inputDirs ?? 'data').split(path.delimiter).filter((dir) => dir.trim() !== '');
  return {
    inputDirs: list.map((dir) => path.resolve(cwd, dir.trim())),
    outputDirs: [path.resolve(cwd, outputDir ?? 'output')],
  };
}

/** The folders plus a run's own input file's folder and output folder: what a worker started by the CLI is handed. */
export const withRunFolders = (folders: AllowedFolders, input: string, output: string): AllowedFolders => ({
  inputDirs: [...folders.inputDirs, path.dirname(path.resolve(input))],
  outputDirs: [...folders.outputDirs, path.dirname(path.resolve(output))],
});

/** A path with every symlink resolved, for as much of it as exists (a file or folder yet to be made is fine). */
async function realPathOf(file: string): Promise<string> {
  const absolute = path.resolve(file);
  let existing = absolute;
  for (;;) {
    try {
      return path.join(await realpath(existing), path.relative(existing, absolute));
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return absolute;
      existing = parent;
    }
  }
}

async function isInside(file: string, folders: string[]): Promise<boolean> {
  const real = await realPathOf(file);
  for (const folder of folders) {
    const relative = path.relative(await realPathOf(folder), real);
    if (relative !== '' && !relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative))
      return true;
  }
  return false;
}

/** Why this worker will not read `input`, or undefined when it may. */
export async function inputProblem(input: string, folders: AllowedFolders): Promise<string | undefined> {
  if (await isInside(input, folders.inputDirs)) return undefined;
  return `The input ${input} is outside the folders this worker reads (SDW_INPUT_DIRS: ${folders.inputDirs.join(path.delimiter)}).`;
}

/** Why this worker will not write `output` (or the reports beside it), or undefined when it may. */
export async function outputProblem(output: string, folders: AllowedFolders): Promise<string | undefined> {
  if (await isInside(output, folders.outputDirs)) return undefined;
  return `The output ${output} is outside the folder this worker writes (SDW_OUTPUT_DIR: ${folders.outputDirs.join(path.delimiter)}).`;
}
