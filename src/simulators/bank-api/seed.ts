// The users the bank API simulator starts from: a seed file read and checked, fictional customers generated, and a
// seed loaded into a new bank as the database would hold it.
import { readFileSync } from 'node:fs';
import { customerSchemas, type Customer } from '../../customer';
import { accountFields, Bank, cardFields, itemFields, rowsOf, userFields, type Table } from './bank';
import { Decimal, numeric13x2 } from './decimal';

export const loadSeed = (file: string): Customer[] => {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`The seed file ${file} is not readable JSON (${(err as Error).message}).`);
  }
  const parsed = customerSchemas().customer.array().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `The seed file ${file} is not an array of SDW2023 users (${issue?.path.join('.')}: ${issue?.message}).`,
    );
  }
  return parsed.data;
};

const firstNames = [
  'Ana',
  'Bruno',
  'Carla',
  'Diego',
  'Elisa',
  'Fábio',
  'Gisele',
  'Hugo',
  'Ingrid',
  'Júlio',
  'Kátia',
  'Luís',
];
const surnames = ['Silva', 'Souza', 'Costa', 'Pereira', 'Lima', 'Ramos', 'Teixeira', 'Barros', 'Cardoso', 'Moura'];

/** Fictional customers numbered from `firstId`, for lists larger than the seed (tests, benchmarks, scale runs). */
export function generateCustomers(count: number, firstId: number): Customer[] {
  return Array.from({ length: count }, (_, i) => {
    const id = firstId + i;
    const digits = String(id).padStart(6, '0');
    return {
      id,
      name: `${firstNames[id % firstNames.length]} ${surnames[Math.floor(id / firstNames.length) % surnames.length]}`,
      account: { id, number: `G${digits}-${id % 10}`, agency: '0001', balance: (id * 37) % 20000, limit: 1000 },
      card: { id, number: `xxxx xxxx xx${digits.slice(0, 2)} ${digits.slice(2)}`, limit: 2000 },
      features: [],
      news: [],
    };
  });
}

/** A seed user as the database would hold it: every row with an id, balances rounded, lists never null. */
function fromSeed(user: Customer, bank: Bank): Customer {
  const round = (n: unknown): number | null => {
    if (typeof n !== 'number') return null;
    const d = Decimal.parse(String(n));
    return (d && numeric13x2(d)) ?? n;
  };
  const others = (o: object, known: readonly string[]) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => !known.includes(k)));
  const idFor = (table: Table, id: number | null | undefined): number => id ?? bank.take(table);
  const item = (table: Table) => (i: NonNullable<Customer['news']>[number]) => ({
    id: idFor(table, i.id),
    icon: i.icon ?? null,
    description: i.description ?? null,
    ...others(i, itemFields),
  });
  const { account: a, card: c } = user;
  return {
    id: user.id,
    name: user.name ?? null,
    account: a
      ? {
          id: idFor('account', a.id),
          number: a.number ?? null,
          agency: a.agency ?? null,
          balance: round(a.balance),
          limit: round(a.limit),
          ...others(a, accountFields),
        }
      : null,
    card: c
      ? { id: idFor('card', c.id), number: c.number ?? null, limit: round(c.limit), ...others(c, cardFields) }
      : null,
    features: (user.features ?? []).map(item('feature')),
    news: (user.news ?? []).map(item('news')),
    ...others(user, userFields),
  };
}

export function seedBank(seed: Customer[]): Bank {
  const bank = new Bank();
  for (const user of seed) {
    bank.seen('user', user.id);
    for (const [table, row] of rowsOf(user)) if (typeof row.id === 'number') bank.seen(table, row.id);
  }
  for (const user of seed) bank.put(fromSeed(user, bank));
  return bank;
}
