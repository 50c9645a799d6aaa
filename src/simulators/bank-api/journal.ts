// The bank API simulator's state file: a journal of changes, replayed into a bank at start, rewritten as the whole
// state, appended to as changes are made.
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Customer } from '../../customer';
import { Bank, tables, type Row, type Sequences, type Table } from './bank';

export type Change =
  | { op: 'put'; user: Customer; next?: Sequences }
  | { op: 'delete'; id: number; next?: Sequences }
  | { op: 'rows'; table: Table; rows: Row[] }
  | { op: 'next'; next: Sequences };

export function replay(stateFile: string): Bank {
  const bank = new Bank();
  for (const line of readFileSync(stateFile, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let change: Change;
    try {
      change = JSON.parse(line) as Change;
    } catch {
      continue; // A line cut short by a crash mid-write: everything before it stands.
    }
    if (change.op === 'put') bank.put(change.user);
    else if (change.op === 'delete') bank.remove(change.id);
    else if (change.op === 'rows') for (const row of change.rows) bank.setRow(change.table, row);
    if ('next' in change && change.next) {
      for (const [k, v] of Object.entries(change.next)) bank.seen(k as keyof Sequences, v - 1);
    }
  }
  return bank;
}

/** Rewrites the journal as the whole state, so it does not grow without end across restarts. */
export function compact(bank: Bank, stateFile: string): void {
  mkdirSync(path.dirname(stateFile), { recursive: true });
  const changes: Change[] = [
    ...[...bank.users.values()].map((user): Change => ({ op: 'put', user })),
    ...tables.map((table): Change => ({ op: 'rows', table, rows: bank.unlinked(table) })),
    { op: 'next', next: { ...bank.next } },
  ];
  const tmp = `${stateFile}.tmp`;
  writeFileSync(tmp, changes.map((change) => JSON.stringify(change)).join('\n') + '\n');
  renameSync(tmp, stateFile);
}

/** Appends one change to the journal, synchronously. */
export function append(stateFile: string, change: Change): void {
  appendFileSync(stateFile, JSON.stringify(change) + '\n');
}
