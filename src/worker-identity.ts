// What a worker says about itself in its Temporal identity, which the task queue's pollers show: its build (sdw-etl's
// version) and its encryption keys as ids and fingerprints, never the keys, so doctor can compare them with its own.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { EncryptionKeys } from './codec';
import { projectRoot } from './config';

/** This copy of sdw-etl's version, from its package.json. */
export const sdwEtlBuild: string = (
  JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * The keys as `id:fingerprint` pairs, the encrypting key first, or `none`. A fingerprint is 12 hex digits of the
 * key's SHA-256: enough to tell two keys apart, nothing that helps to find a 256-bit key.
 */
export function keyFingerprints(encryption: EncryptionKeys | undefined): string {
  if (!encryption) return 'none';
  const ids = [encryption.current, ...[...encryption.keys.keys()].filter((id) => id !== encryption.current)];
  return ids
    .map((id) => `${id}:${createHash('sha256').update(encryption.keys.get(id)!).digest('hex').slice(0, 12)}`)
    .join(',');
}

/** The identity a worker polls with: Temporal's usual pid@host, then its build and its keys' fingerprints. */
export const workerIdentity = (encryption: EncryptionKeys | undefined): string =>
  `${process.pid}@${hostname()} sdw-etl/${sdwEtlBuild} keys=${keyFingerprints(encryption)}`;

/** A poller's build and keys as its identity says them; undefined for a worker that does not say (not sdw-etl's). */
export function parseIdentity(identity: string): { build: string; keys: string } | undefined {
  const match = / sdw-etl\/(\S+) keys=(\S+)$/.exec(identity);
  return match ? { build: match[1]!, keys: match[2]! } : undefined;
}

const pairsOf = (keys: string): Map<string, string> =>
  new Map(keys === 'none' ? [] : keys.split(',').map((pair) => pair.split(':') as [string, string]));

/**
 * Whether this client and a worker can read each other's payloads: each holds the key the other encrypts with,
 * and a key id names the same key on both. Undefined when they can; else the problem and its fix.
 */
export function keysProblem(clientKeys: string, workerKeys: string, worker: string): string | undefined {
  const client = pairsOf(clientKeys);
  const theirs = pairsOf(workerKeys);
  if (client.size === 0 && theirs.size === 0) return undefined;
  const fix = 'give clients and workers the same SDW_ETL_ENCRYPTION_KEY.';
  if (client.size === 0) return `worker ${worker} encrypts payloads and this command has no key: ${fix}`;
  if (theirs.size === 0) return `this command encrypts payloads and worker ${worker} has no key: ${fix}`;
  for (const [id, fingerprint] of client) {
    if (theirs.has(id) && theirs.get(id) !== fingerprint)
      return `key ${id} is not the same key here and on worker ${worker}: ${fix}`;
  }
  const [clientCurrent] = client.keys();
  const [workerCurrent] = theirs.keys();
  if (!theirs.has(clientCurrent!))
    return `worker ${worker} lacks key ${clientCurrent}, which this command encrypts with: ${fix}`;
  if (!client.has(workerCurrent!))
    return `this command lacks key ${workerCurrent}, which worker ${worker} encrypts with: ${fix}`;
  return undefined;
}
