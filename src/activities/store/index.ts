// Which record store a process opens: PostgreSQL when SDW_DATABASE_URL is set, else files in SDW_DATA_DIR; sealed
// with the payload key when one is set. The worker and the CLI open it the same way.
import type { Config } from '../../config';
import { encryptedStore } from './encrypted';
import { createFileStore } from './files';
import { createPostgresStore } from './postgres';
import type { RecordStore } from './store';

export type OpenStore = RecordStore & { close?: () => Promise<void> };

export async function openRecordStore(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'encryption'>,
): Promise<OpenStore> {
  const store: OpenStore = config.databaseUrl
    ? await createPostgresStore(config.databaseUrl)
    : createFileStore(config.dataDir);
  return config.encryption ? encryptedStore(store, config.encryption) : store;
}
