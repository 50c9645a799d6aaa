// The built command shows outside text with its control, invisible and bidirectional characters as "?".
import { sdwEtl, scratchDir } from '../helpers';

describe('the sdw-etl command on a terminal', () => {
  test('an error quoting a hostile file name and a hostile option value prints neither raw', async () => {
    const dir = scratchDir();
    const name = '\u001b[2J\u001b]0;pwned\u0007\u202evsc.exe\u2066.csv';
    const missing = await sdwEtl(['run', '--input', name], {}, dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('sdw-etl: The input file ?[2J?]0;pwned??vsc.exe?.csv does not exist.\n');
    const badChoice = await sdwEtl(['run', '--input', 'x.csv', '--sink', name], {}, dir);
    expect(badChoice.code).toBe(1);
    expect(badChoice.stderr).not.toMatch(/[\p{Cc}\p{Cf}](?<!\n)/u);
    expect(badChoice.stderr).toContain('?[2J?]0;pwned??vsc.exe?.csv');
  });
});
