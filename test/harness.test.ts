import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributes } from '../src/shared';
import { root } from './helpers';

describe('the test Temporal server', () => {
  test('answers and has every search attribute sdw-etl sets registered with its type', async () => {
    const connection = await Connection.connect({ address: process.env.SDW_TEST_TEMPORAL_ADDRESS });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      const registered = Object.keys(customAttributes ?? {});
      for (const key of Object.values(searchAttributes)) expect(registered).toContain(key.name);
    } finally {
      await connection.close();
    }
  });

  test('scripts/search-attributes.txt lists exactly the search attributes of src/shared.ts', () => {
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
