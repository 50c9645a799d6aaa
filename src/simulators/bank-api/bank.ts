// The bank API simulator's database: H2's tables as Hibernate 6.2 creates them from the SDW2023 entities, held in
// memory with their IDENTITY sequences, unique numbers and links, and the existsBy...Number lookups the API makes.
import { type Customer } from '../../customer';

export type Table = 'account' | 'card' | 'feature' | 'news';
export const tables: readonly Table[] = ['account', 'card', 'feature', 'news'];
/** An account, card, feature or news row as GET shows it (with the fields the simulator keeps beside it). */
export type Row = { id: number } & Record<string, unknown>;
/** The next value of each IDENTITY column: every table numbers its rows itself, and a failed insert uses one up. */
export type Sequences = Record<'user' | Table, number>;

export const accountFields = ['id', 'number', 'agency', 'balance', 'limit'] as const;
export const cardFields = ['id', 'number', 'limit'] as const;
export const itemFields = ['id', 'icon', 'description'] as const;
export const userFields = ['id', 'name', 'account', 'card', 'features', 'news'] as const;

export const rowsOf = (user: Customer): [Table, Row][] => [
  ...(user.account ? [['account', user.account as Row] as [Table, Row]] : []),
  ...(user.card ? [['card', user.card as Row] as [Table, Row]] : []),
  ...(user.features ?? []).map((f): [Table, Row] => ['feature', f as Row]),
  ...(user.news ?? []).map((n): [Table, Row] => ['news', n as Row]),
];

/**
 * Users and every row the original's database keeps: a PUT that replaces an account, card or news item leaves the old
 * row behind, unlinked but still holding its unique number, as tb_account and friends do (no orphan removal).
 */
export class Bank {
  readonly users = new Map<number, Customer>();
  readonly rows: Record<Table, Map<number, Row>> = {
    account: new Map(),
    card: new Map(),
    feature: new Map(),
    news: new Map(),
  };
  /** Which user links each row: tb_user.account_id and card_id are unique, as are the join tables' item columns. */
  readonly owner: Record<Table, Map<number, number>> = {
    account: new Map(),
    card: new Map(),
    feature: new Map(),
    news: new Map(),
  };
  /** The unique index on tb_account.number and tb_card.number (NULLs never collide). */
  readonly byNumber: Record<'account' | 'card', Map<string, number>> = { account: new Map(), card: new Map() };
  readonly next: Sequences = { user: 1, account: 1, card: 1, feature: 1, news: 1 };

  take(sequence: keyof Sequences): number {
    return this.next[sequence]++;
  }

  seen(sequence: keyof Sequences, id: number): void {
    this.next[sequence] = Math.max(this.next[sequence], id + 1);
  }

  /** True when no row but `self` holds this number. */
  numberFree(table: 'account' | 'card', number: unknown, self: number | undefined): boolean {
    if (typeof number !== 'string') return true;
    const holder = this.byNumber[table].get(number);
    return holder === undefined || holder === self;
  }

  /** The user linked to this row, if any. */
  linkedTo(table: Table, id: number): number | undefined {
    return this.owner[table].get(id);
  }

  setRow(table: Table, row: Row): void {
    this.dropNumber(table, row.id);
    this.rows[table].set(row.id, row);
    if ((table === 'account' || table === 'card') && typeof row.number === 'string') {
      this.byNumber[table].set(row.number, row.id);
    }
    this.seen(table, row.id);
  }

  private dropNumber(table: Table, id: number): void {
    const old = this.rows[table].get(id);
    if ((table === 'account' || table === 'card') && typeof old?.number === 'string') {
      if (this.byNumber[table].get(old.number) === id) this.byNumber[table].delete(old.number);
    }
  }

  /** Stores a user as GET shows it; the rows it linked before and no longer does stay behind, unlinked. */
  put(user: Customer): void {
    const old = this.users.get(user.id);
    if (old) for (const [table, row] of rowsOf(old)) this.owner[table].delete(row.id);
    for (const [table, row] of rowsOf(user)) {
      this.setRow(table, row);
      this.owner[table].set(row.id, user.id);
    }
    this.users.set(user.id, user);
    this.seen('user', user.id);
  }

  /** DELETE cascades to the rows the user links, not to the ones it left behind. */
  remove(id: number): void {
    const old = this.users.get(id);
    if (!old) return;
    for (const [table, row] of rowsOf(old)) {
      this.owner[table].delete(row.id);
      this.dropNumber(table, row.id);
      this.rows[table].delete(row.id);
    }
    this.users.delete(id);
  }

  unlinked(table: Table): Row[] {
    return [...this.rows[table].values()].filter((row) => !this.owner[table].has(row.id));
  }
}

/** existsByAccountNumber / existsByCardNumber: a user links a row with this number (a null number: IS NULL). */
export function linkedNumber(bank: Bank, table: 'account' | 'card', number: string | null): boolean {
  if (number === null) {
    return [...bank.users.values()].some((u) => {
      const row = (table === 'account' ? u.account : u.card) as Row | null;
      return row !== null && row.number === null;
    });
  }
  const id = bank.byNumber[table].get(number);
  return id !== undefined && bank.linkedTo(table, id) !== undefined;
}
