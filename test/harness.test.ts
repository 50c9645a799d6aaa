import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { startDevServer } from '../src/bench/processes';
import { searchAttributes } from '../src/workflows/api';
import { root, scratchDir } from './helpers';

async function registeredSearchAttributes(address: string): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    return Object.keys(customAttributes ?? {});
  } finally {
    await connection.close();
  }
}

describe('the test Temporal server', () => {
  test('answers and has every search attribute sdw-etl sets registered with its type', async () => {
    const registered = await registeredSearchAttributes(process.env.SDW_TEST_TEMPORAL_ADDRESS!);
    for (const key of Object.values(searchAttributes)) expect(registered).toContain(key.name);
  });

  test('scripts/register-search-attributes.sh registers them on a server started without them, and again harmlessly', async () => {
    const server = await startDevServer(path.join(scratchDir(), 'bare.db'), undefined, []);
    try {
      const script = path.join(root, 'scripts', 'register-search-attributes.sh');
      const env = { ...process.env, TEMPORAL_ADDRESS: server.address };
      expect(await registeredSearchAttributes(server.address)).not.toContain(searchAttributes.runId.name);
      execFileSync('bash', [script], { env, stdio: 'pipe' });
      execFileSync('bash', [script], { env, stdio: 'pipe' });
      const registered = await registeredSearchAttributes(server.address);
      for (const key of Object.values(searchAttributes)) expect(registered).toContain(key.name);
    } finally {
      await server.stop();
    }
  });

  test('scripts/search-attributes.txt lists exactly the search attributes of src/workflows/api.ts', () => {
    const typeNames: Record<string, string> = {
      KEYWORD: 'Keyword',
      INT: 'Int',
      TEXT: 'Text',
      BOOL: 'Bool',
      DOUBLE: 'Double',
      DATETIME: 'Datetime',
      KEYWORD_LIST: 'KeywordList',
    };
    const listed = readFileSync(path.join(root, 'scripts', 'search-attributes.txt'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .sort();
    const declared = Object.values(searchAttributes)
      .map((key) => `${key.name}=${typeNames[key.type]}`)
      .sort();
    expect(listed).toEqual(declared);
  });
});
