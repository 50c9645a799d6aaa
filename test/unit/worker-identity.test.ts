// What a worker's identity says of its build and keys (never the keys), and doctor's verdict on a client and a
// worker that could not read each other's payloads.
import { randomBytes } from 'node:crypto';
import { parseEncryptionKeys } from '../../src/codec';
import { keyFingerprints, keysProblem, parseIdentity, sdwEtlBuild, workerIdentity } from '../../src/worker-identity';

const key = (): string => randomBytes(32).toString('base64');

describe("a worker's identity", () => {
  const [a, b, c] = [key(), key(), key()];

  test('says its build and each key id with a fingerprint, the encrypting key first, never a key', () => {
    const identity = workerIdentity(parseEncryptionKeys(`k2:${a},k1:${b}`));
    expect(identity).toMatch(new RegExp(`^\\d+@\\S+ sdw-etl/${sdwEtlBuild} keys=k2:[0-9a-f]{12},k1:[0-9a-f]{12}$`));
    expect(identity).not.toContain(a);
    expect(identity).not.toContain(Buffer.from(a, 'base64').toString('hex').slice(0, 12));
    expect(parseIdentity(identity)).toEqual({ build: sdwEtlBuild, keys: identity.split('keys=')[1] });
    expect(parseIdentity(workerIdentity(undefined))).toEqual({ build: sdwEtlBuild, keys: 'none' });
    expect(parseIdentity('4242@host')).toBeUndefined();
  });

  const fp = (value: string): string => keyFingerprints(parseEncryptionKeys(value));

  test.each([
    ['no encryption on either side', 'none', 'none', undefined],
    ['the same keys', fp(`k1:${a}`), fp(`k1:${a}`), undefined],
    [
      'a rotation under way: each holds the key the other encrypts with',
      fp(`k2:${b},k1:${a}`),
      fp(`k1:${a},k2:${b}`),
      undefined,
    ],
    [
      'the client encrypts, the worker has no key',
      fp(`k1:${a}`),
      'none',
      'this command encrypts payloads and worker w has no key',
    ],
    [
      'the worker encrypts, the client has no key',
      'none',
      fp(`k1:${a}`),
      'worker w encrypts payloads and this command has no key',
    ],
    ['one id, two keys', fp(`k1:${a}`), fp(`k1:${c}`), 'key k1 is not the same key here and on worker w'],
    [
      'the worker lacks the key the client encrypts with',
      fp(`k2:${b},k1:${a}`),
      fp(`k1:${a}`),
      'worker w lacks key k2',
    ],
    [
      'the client lacks the key the worker encrypts with',
      fp(`k1:${a}`),
      fp(`k2:${b},k1:${a}`),
      'this command lacks key k2',
    ],
  ])('%s', (_what, client, worker, problem) => {
    const found = keysProblem(client, worker, 'w');
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found?.slice(0, problem.length)).toBe(problem);
    if (problem !== undefined) expect(found).toMatch(/: give clients and workers the same SDW_ETL_ENCRYPTION_KEY\.$/);
  });
});
