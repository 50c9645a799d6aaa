// Encrypts every payload Temporal stores (workflow inputs and results, activity arguments, failure messages),
// so customer data is unreadable in history without the key. Used by the client, the worker and the codec server.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { ConfigError } from './config';
import { undecodablePayloadField } from './failures';

const encoding = 'binary/encrypted';
const cipher = 'aes-256-gcm';
const ivBytes = 12;
const tagBytes = 16;

/** Keys by id; the first one encrypts, all of them decrypt, so keys can rotate. */
export interface EncryptionKeys {
  current: string;
  keys: Map<string, Buffer>;
}

/**
 * Parses SDW_ETL_ENCRYPTION_KEY: `id:base64key[,id:base64key…]`, each key 32 bytes (openssl rand -base64 32).
 * The first key encrypts; the others are kept to read what older keys wrote.
 */
export function parseEncryptionKeys(value: string): EncryptionKeys {
  const keys = new Map<string, Buffer>();
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const match = /^([A-Za-z0-9._-]{1,64}):([A-Za-z0-9+/=]+)$/.exec(entry);
    const key = match ? Buffer.from(match[2]!, 'base64') : undefined;
    if (!match || key?.length !== 32) {
      throw new ConfigError(
        'SDW_ETL_ENCRYPTION_KEY must be id:key pairs separated by commas, each key 32 bytes in base64.',
      );
    }
    if (keys.has(match[1]!)) throw new ConfigError(`SDW_ETL_ENCRYPTION_KEY names key ${match[1]} twice.`);
    keys.set(match[1]!, key);
  }
  const current = keys.keys().next().value;
  if (current === undefined) throw new ConfigError('SDW_ETL_ENCRYPTION_KEY is set but holds no key.');
  return { current, keys };
}

/**
 * throw: a payload that cannot be decrypted is an error (the client: one sentence to the user). mark: it becomes a
 * value holding the sentence (a worker: see workflows/undecodable-input.ts), so the run fails at once, instead of its
 * workflow tasks failing again and again.
 */
export type UndecodablePayloads = 'throw' | 'mark';

export class EncryptionCodec implements PayloadCodec {
  /** `encryption` undefined: nothing is encrypted, and an encrypted payload is undecodable. */
  constructor(
    private readonly encryption: EncryptionKeys | undefined,
    private readonly undecodable: UndecodablePayloads = 'throw',
  ) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    const { encryption } = this;
    if (!encryption) return Promise.resolve(payloads);
    return Promise.resolve().then(() => payloads.map((payload) => this.seal(encryption, payload)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((payload) => this.open(payload)));
  }

  private seal(encryption: EncryptionKeys, payload: Payload): Payload {
    const keyId = encryption.current;
    const iv = randomBytes(ivBytes);
    const gcm = createCipheriv(cipher, encryption.keys.get(keyId)!, iv);
    const plain = Buffer.from(JSON.stringify(payloadToJson(payload)));
    return {
      metadata: { encoding: Buffer.from(encoding), 'encryption-key-id': Buffer.from(keyId) },
      data: Buffer.concat([iv, gcm.update(plain), gcm.final(), gcm.getAuthTag()]),
    };
  }

  private open(payload: Payload): Payload {
    if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== encoding) return payload;
    const keyId = Buffer.from(payload.metadata?.['encryption-key-id'] ?? []).toString();
    if (!this.encryption) return this.cannotOpen(keyId, 'no key');
    const key = this.encryption.keys.get(keyId);
    if (!key) return this.cannotOpen(keyId, 'no such key');
    const sealed = Buffer.from(payload.data ?? []);
    try {
      const gcm = createDecipheriv(cipher, key, sealed.subarray(0, ivBytes));
      gcm.setAuthTag(sealed.subarray(sealed.length - tagBytes));
      const plain = Buffer.concat([gcm.update(sealed.subarray(ivBytes, sealed.length - tagBytes)), gcm.final()]);
      return payloadFromJson(JSON.parse(plain.toString()) as JsonPayload);
    } catch {
      return this.cannotOpen(keyId, 'another key');
    }
  }

  /** A payload this codec cannot decrypt: an error saying why, or (mark) a value holding that sentence. */
  private cannotOpen(keyId: string, why: 'no key' | 'no such key' | 'another key'): Payload {
    if (this.undecodable === 'throw') {
      throw new Error(
        why === 'another key'
          ? `A payload encrypted with key "${keyId}" does not decrypt with the key SDW_ETL_ENCRYPTION_KEY gives that id.`
          : why === 'no such key'
            ? `A payload is encrypted with key "${keyId}", which SDW_ETL_ENCRYPTION_KEY does not hold.`
            : `A payload is encrypted with key "${keyId}", and SDW_ETL_ENCRYPTION_KEY is not set.`,
      );
    }
    const sentence = `This worker cannot decrypt the run: it is encrypted with key "${keyId}"${
      why === 'another key'
        ? ", and the worker's SDW_ETL_ENCRYPTION_KEY gives that id a different key"
        : why === 'no such key'
          ? ", which the worker's SDW_ETL_ENCRYPTION_KEY does not hold"
          : ' and the worker has no SDW_ETL_ENCRYPTION_KEY'
    }.`;
    return {
      metadata: { encoding: Buffer.from('json/plain') },
      data: Buffer.from(JSON.stringify({ [undecodablePayloadField]: sentence })),
    };
  }
}

/** A payload as JSON, its bytes in base64: the codec server's wire form, and what the codec seals. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const b64 = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('base64');

export const payloadToJson = (payload: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
  data: b64(payload.data),
});

export const payloadFromJson = (json: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(json.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(json.data ?? '', 'base64'),
});

/** The module whose failure converter encodes failure messages, so the codec encrypts them. */
export const failureConverterPath = require.resolve('./failure-converter');

/**
 * The data converter client and worker share: encryption when keys are set, failure messages encrypted too. A
 * worker's always has the codec, keys or not, so a run it cannot decrypt fails at once with one sentence.
 */
export function dataConverterFor(
  encryption: EncryptionKeys | undefined,
  role: 'client' | 'worker' = 'client',
): DataConverter | undefined {
  if (role === 'worker') {
    return {
      payloadCodecs: [new EncryptionCodec(encryption, 'mark')],
      ...(encryption ? { failureConverterPath } : {}),
    };
  }
  if (!encryption) return undefined;
  return {
    payloadCodecs: [new EncryptionCodec(encryption)],
    failureConverterPath: failureConverterPath,
  };
}
