// The record store with every record encrypted by the payload keys (SDW_ETL_ENCRYPTION_KEY), whichever store keeps
// it: customer data at rest is as unreadable without the key as it is in Temporal's history.
import { EncryptionCodec, payloadFromJson, payloadToJson, type EncryptionKeys, type JsonPayload } from '../../codec';
import type { CampaignEntry, CustomerRecord, RecordStore } from './store';

/** What the underlying store keeps in place of a record: the sealed payload, as JSON. */
interface SealedRecord {
  sealed: JsonPayload;
}

/** Marks a ledger message kept sealed. */
const sealedPrefix = 'sealed:';

export function encryptedStore<S extends RecordStore>(store: S, keys: EncryptionKeys): S {
  const codec = new EncryptionCodec(keys);
  const seal = async (record: CustomerRecord): Promise<CustomerRecord> => {
    const [sealed] = await codec.encode([{ metadata: {}, data: Buffer.from(JSON.stringify(record)) }]);
    // Only the customer's id and CSV line stay readable: the stores key records by the id.
    const { id, line } = record.outcome;
    return { outcome: { id, line }, customer: null, sealed: payloadToJson(sealed!) } as unknown as CustomerRecord;
  };
  const open = async (stored: CustomerRecord | undefined): Promise<CustomerRecord | undefined> => {
    const { sealed } = (stored ?? {}) as Partial<SealedRecord>;
    if (!sealed) return stored;
    const [plain] = await codec.decode([payloadFromJson(sealed)]);
    return JSON.parse(Buffer.from(plain!.data ?? []).toString('utf8')) as CustomerRecord;
  };
  // In the campaign ledger only the message is customer data (it holds the first name): it is kept sealed.
  const sealText = async (text: string): Promise<string> => {
    const [sealed] = await codec.encode([{ metadata: {}, data: Buffer.from(text) }]);
    return `${sealedPrefix}${JSON.stringify(payloadToJson(sealed!))}`;
  };
  const openText = async (text: string): Promise<string> => {
    if (!text.startsWith(sealedPrefix)) return text;
    const [plain] = await codec.decode([payloadFromJson(JSON.parse(text.slice(sealedPrefix.length)) as JsonPayload)]);
    return Buffer.from(plain!.data ?? []).toString('utf8');
  };
  const openEntry = async (entry: CampaignEntry): Promise<CampaignEntry> => ({
    ...entry,
    message: await openText(entry.message),
  });
  return {
    ...store,
    readCampaign: async (campaign, ids) => {
      const found = await store.readCampaign(campaign, ids);
      return new Map(await Promise.all([...found].map(async ([id, entry]) => [id, await openEntry(entry)] as const)));
    },
    chooseMessage: async (campaign, id, chosen) =>
      openEntry(await store.chooseMessage(campaign, id, { ...chosen, message: await sealText(chosen.message) })),
    saveRecords: async (runId, records) => store.saveRecords(runId, await Promise.all(records.map(seal))),
    readRecord: async (runId, id) => open(await store.readRecord(runId, id)),
    readRecords: async (runId, ids) => {
      const found = await store.readRecords(runId, ids);
      const opened = await Promise.all([...found].map(async ([id, record]) => [id, (await open(record))!] as const));
      return new Map(opened);
    },
  };
}
