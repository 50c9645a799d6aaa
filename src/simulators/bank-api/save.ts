// Saving a user as the SDW2023 API's UserServiceImpl does through Hibernate 6.2 and H2: which rows are inserted or
// updated, which ids they draw, and which writes the database refuses.
import { type Customer } from '../../customer';
import { type Bank, type Row, type Table } from './bank';
import { type ItemIn, type UserIn } from './body';
import { numeric13x2, type Decimal } from './decimal';
import { RawNumber } from './json';

/** The database refused the write (a constraint, a value too long, a detached entity): the original answers 500. */
export class WriteFailed extends Error {}

/** varchar(255), counted in UTF-16 units as H2 counts a Java string. */
const fitsVarchar = (s: string | null): boolean => s === null || s.length <= 255;
const stored = (d: Decimal | null): number | null | undefined => (d === null ? null : numeric13x2(d));
const asSent = (d: Decimal | null): RawNumber | null => (d === null ? null : new RawNumber(d.toString()));
const rowId = (map: Map<number, Row>, id: bigint | null): number | undefined =>
  id !== null && id >= 1n && id <= BigInt(Number.MAX_SAFE_INTEGER) && map.has(Number(id)) ? Number(id) : undefined;

/**
 * Saves `input` the way UserServiceImpl does, and answers the user as stored (what a later GET returns) and as the
 * response echoes it (balances and limits as sent, before H2 rounds them).
 *
 * - `persist` (POST without id): every account, card and item must be new; one with an id is a detached entity.
 * - `merge` (PUT, or POST with an id): rows with a known id are updated at commit; rows without one, or with an
 *   unknown one, are inserted with a new id. `existing` is the user being replaced, if any.
 *
 * Inserts run at once, in Hibernate's order (account, card, the user, features, news) and use up their IDENTITY
 * values even when they fail; updates and link checks run at commit. Column order decides whether a failing insert
 * used up its id: Hibernate 6.2 orders columns by size, so numeric(13,2) columns come before `id`, strings after.
 */
export function save(
  bank: Bank,
  input: UserIn,
  mode: 'persist' | 'merge',
  existing: Customer | undefined,
): { user: Customer; echo: unknown } {
  const atCommit: (() => boolean)[] = [];
  const mayLink = (table: Table, id: number) => () => {
    const linked = bank.linkedTo(table, id);
    return linked === undefined || linked === existing?.id;
  };
  const known = (table: Table, id: bigint | null): number | undefined => {
    if (mode === 'persist' && id !== null) throw new WriteFailed('detached entity passed to persist');
    return mode === 'merge' ? rowId(bank.rows[table], id) : undefined;
  };

  let account: [Row, Row] | null = null;
  if (input.account) {
    const a = input.account;
    const balance = stored(a.balance);
    const limit = stored(a.limit);
    const valid = () => balance !== undefined && limit !== undefined && fitsVarchar(a.agency) && fitsVarchar(a.number);
    let id = known('account', a.id);
    if (id !== undefined) {
      const self = id;
      atCommit.push(() => valid() && bank.numberFree('account', a.number, self), mayLink('account', self));
    } else {
      // tb_account columns: additional_limit, balance, id, agency, number.
      if (limit === undefined || balance === undefined) throw new WriteFailed('value too long for a numeric column');
      id = bank.take('account');
      if (!valid() || !bank.numberFree('account', a.number, undefined)) throw new WriteFailed('account insert');
    }
    const fields = { id, number: a.number, agency: a.agency };
    account = [
      { ...fields, balance, limit, ...a.extra },
      { ...fields, balance: asSent(a.balance), limit: asSent(a.limit), ...a.extra },
    ];
  }

  let card: [Row, Row] | null = null;
  if (input.card) {
    const c = input.card;
    const limit = stored(c.limit);
    let id = known('card', c.id);
    if (id !== undefined) {
      const self = id;
      atCommit.push(
        () => limit !== undefined && fitsVarchar(c.number) && bank.numberFree('card', c.number, self),
        mayLink('card', self),
      );
    } else {
      // tb_card columns: available_limit, id, number.
      if (limit === undefined) throw new WriteFailed('value too long for a numeric column');
      id = bank.take('card');
      if (!fitsVarchar(c.number) || !bank.numberFree('card', c.number, undefined)) throw new WriteFailed('card insert');
    }
    card = [
      { id, number: c.number, limit, ...c.extra },
      { id, number: c.number, limit: asSent(c.limit), ...c.extra },
    ];
  }

  let userId: number;
  if (existing) {
    userId = existing.id;
    atCommit.push(() => fitsVarchar(input.name));
  } else {
    // tb_user columns: account_id, card_id, id, name.
    userId = bank.take('user');
    if (!fitsVarchar(input.name)) throw new WriteFailed('user insert');
  }

  const items = (table: 'feature' | 'news', list: ItemIn[]): Row[] => {
    const linked = new Set<number>();
    return list.map((item) => {
      let id = known(table, item.id);
      if (id !== undefined) {
        const self = id;
        // The join table's unique item column: an item may be linked once, and to one user only.
        const twice = linked.has(self);
        linked.add(self);
        atCommit.push(() => !twice && fitsVarchar(item.description) && fitsVarchar(item.icon), mayLink(table, self));
      } else {
        // tb_feature and tb_news columns: id, description, icon.
        id = bank.take(table);
        if (!fitsVarchar(item.description) || !fitsVarchar(item.icon)) throw new WriteFailed(`${table} insert`);
      }
      return { id, icon: item.icon, description: item.description, ...item.extra };
    });
  };
  const features = items('feature', input.features);
  const news = items('news', input.news);

  if (!atCommit.every((check) => check())) throw new WriteFailed('constraint violation at commit');
  const user = {
    id: userId,
    name: input.name,
    account: account?.[0] ?? null,
    card: card?.[0] ?? null,
    features,
    news,
    ...input.extra,
  } as Customer;
  const echo = { ...user, account: account?.[1] ?? null, card: card?.[1] ?? null };
  return { user, echo };
}
