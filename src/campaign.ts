// What a campaign is named: the one rule every entry point checks, and the default a run takes from its input file,
// so the same list run twice is one campaign. Pure: the workflow, the CLI and the stores share it.

const campaignPattern = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,99}$/u;

export const validCampaign = (name: string): boolean => campaignPattern.test(name) && !name.includes('..');

/** The sentence for a campaign name that breaks the rule. */
export const campaignProblem = (name: string): string =>
  `The campaign "${name}" must be 1 to 100 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit.`;

/** The input file's base name without its extension, with anything the rule refuses made a dash: "SDW2023.csv" is "SDW2023". */
export function campaignOf(input: string): string {
  const base = input
    .split(/[\\/]/)
    .at(-1)!
    .replace(/\.[^.]*$/, '');
  const name = base
    .replace(/[^\p{L}\p{N} ._-]/gu, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^\p{L}\p{N}]+/u, '')
    .slice(0, 100)
    .trimEnd();
  return name === '' ? 'campaign' : name;
}
