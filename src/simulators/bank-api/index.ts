// The SDW2023 bank API (Spring Boot 3.1, Hibernate 6.2, H2) as a loopback server with fault knobs: startBankApi, what
// it takes and what it returns. docs/bank-api.md lists each behaviour and the test that checks it.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type Customer } from '../../customer';
import { checkRate, close, listen } from '../http';
import { noFaults, type BankApiFaults } from './faults';
import { append, compact, replay, type Change } from './journal';
import { send, stringType } from './negotiation';
import { routes, unexpected } from './routes';
import { seedBank } from './seed';

export { noFaults, type BankApiFaults } from './faults';
export { generateCustomers, loadSeed } from './seed';

export interface BankApiOptions {
  port?: number;
  /** Users to start from when there is no state yet. */
  seed: Customer[];
  /** Journal of every change, replayed at start, so loads survive a restart. Once it exists, it is the whole state. */
  stateFile?: string;
  faults?: Partial<BankApiFaults>;
}

export interface BankApiSimulator {
  url: string;
  faults: BankApiFaults;
  /** Every user as GET /users/{id} returns it (balances as numbers); read-only, by id. */
  users: Map<number, Customer>;
  /** Requests answered, by method, for tests and benchmarks. */
  requests: { GET: number; PUT: number; POST: number; DELETE: number };
  /**
   * Holds every request that arrives from now on until the returned function is called, so a test decides when the
   * API answers instead of guessing how long work takes. Requests already held are then answered as usual.
   */
  hold: () => () => void;
  close: () => Promise<void>;
}

export async function startBankApi(options: BankApiOptions): Promise<BankApiSimulator> {
  const faults: BankApiFaults = { ...noFaults(), ...options.faults };
  for (const key of ['errorRate', 'rateLimitRate', 'hangRate', 'resetRate', 'malformedRate'] as const) {
    checkRate(key, faults[key]);
  }
  const stateFile = options.stateFile;
  const bank = stateFile && existsSync(stateFile) ? replay(stateFile) : seedBank(options.seed);
  if (stateFile) compact(bank, stateFile);
  const record = (change: Change): void => {
    // Appended synchronously before the answer goes out: an acknowledged change survives a crash.
    if (stateFile) append(stateFile, change);
  };
  const requests = { GET: 0, PUT: 0, POST: 0, DELETE: 0 };

  const holds = new Set<Promise<void>>();
  const hold = (): (() => void) => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    holds.add(held);
    return () => {
      holds.delete(held);
      release();
    };
  };

  const handle = routes({ bank, faults, requests, holds, record });

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, unexpected, { 'content-type': stringType(req.headers.accept) });
    });
  });
  const url = await listen(server, options.port ?? 0);
  return { url, faults, users: bank.users, requests, hold, close: () => close(server) };
}
