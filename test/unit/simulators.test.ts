import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startBankApi } from '../../src/simulators/bank-api';
import { startLlm } from '../../src/simulators/llm';
import { scratchDir, seed } from '../helpers';

const json = { 'content-type': 'application/json' };

describe('the SDW2023 bank API simulator', () => {
  test('answers as the SDW2023 API does: list, get, 404, create with Location, update rules, delete rules', async () => {
    const api = await startBankApi({ seed: seed() });
    try {
      const list = (await (await fetch(`${api.url}/users`)).json()) as unknown[];
      expect(list).toHaveLength(60);
      const missing = await fetch(`${api.url}/users/404404`);
      expect([missing.status, await missing.text()]).toEqual([404, 'Resource ID not found.']);

      const newUser = {
        ...seed()[1]!,
        id: 0,
        name: 'Nova Cliente',
        account: { number: '00001-1', agency: '0001', balance: 0, limit: 100 },
        card: { number: 'xxxx xxxx xxxx 0001', limit: 100 },
      };
      const created = await fetch(`${api.url}/users`, { method: 'POST', headers: json, body: JSON.stringify(newUser) });
      expect(created.status).toBe(201);
      const body = (await created.json()) as { id: number };
      expect(created.headers.get('location')).toBe(`/users/${body.id}`);
      const again = await fetch(`${api.url}/users`, { method: 'POST', headers: json, body: JSON.stringify(newUser) });
      expect([again.status, await again.text()]).toEqual([422, 'This Account number already exists.']);

      const user2 = api.users.get(2)!;
      const wrongId = await fetch(`${api.url}/users/2`, {
        method: 'PUT',
        headers: json,
        body: JSON.stringify({ ...user2, id: 3 }),
      });
      expect([wrongId.status, await wrongId.text()]).toEqual([422, 'Update IDs must be the same.']);
      const user1 = api.users.get(1)!;
      const locked = await fetch(`${api.url}/users/1`, { method: 'PUT', headers: json, body: JSON.stringify(user1) });
      expect([locked.status, await locked.text()]).toEqual([422, 'This User ID 1 cannot be updated.']);
      const undeletable = await fetch(`${api.url}/users/1`, { method: 'DELETE' });
      expect([undeletable.status, await undeletable.text()]).toEqual([422, 'This User ID 1 cannot be deleted.']);

      // PUT replaces the whole user: what is left out is gone.
      const replaced = await fetch(`${api.url}/users/2`, {
        method: 'PUT',
        headers: json,
        body: JSON.stringify({ ...user2, features: [], news: [] }),
      });
      expect(replaced.status).toBe(200);
      expect(api.users.get(2)).toMatchObject({ features: [], news: [] });
      expect((await fetch(`${api.url}/users/${body.id}`, { method: 'DELETE' })).status).toBe(204);
      expect(api.users.has(body.id)).toBe(false);
    } finally {
      await api.close();
    }
  });

  test('keeps its changes in the state file, so they survive a restart', async () => {
    const stateFile = path.join(scratchDir(), 'bank.jsonl');
    const first = await startBankApi({ seed: seed(), stateFile });
    const user = first.users.get(7)!;
    const put = await fetch(`${first.url}/users/7`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ ...user, news: [...user.news!, { icon: 'i', description: 'kept' }] }),
    });
    expect(put.status).toBe(200);
    await first.close();
    const second = await startBankApi({ seed: seed(), stateFile });
    try {
      expect(second.users.get(7)!.news!.at(-1)).toMatchObject({ description: 'kept' });
    } finally {
      await second.close();
    }
  });

  test('fault knobs: 500s, 429 with Retry-After, broken JSON, each as configured', async () => {
    const api = await startBankApi({ seed: seed(), faults: { errorRate: 1 } });
    try {
      expect((await fetch(`${api.url}/users/2`)).status).toBe(500);
      Object.assign(api.faults, { errorRate: 0, rateLimitRate: 1, retryAfterSeconds: 3 });
      const limited = await fetch(`${api.url}/users/2`);
      expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '3']);
      Object.assign(api.faults, { rateLimitRate: 0, malformedRate: 1 });
      await expect((await fetch(`${api.url}/users/2`)).json()).rejects.toThrow();
    } finally {
      await api.close();
    }
  });

  test('hold: requests wait until released, then are answered as usual; later requests are not held', async () => {
    const api = await startBankApi({ seed: seed() });
    try {
      const release = api.hold();
      let answered = 0;
      const held = [2, 3].map((id) =>
        fetch(`${api.url}/users/${id}`).then((res) => {
          answered += 1;
          return res.status;
        }),
      );
      // However long the requests have had to arrive, none is answered while held.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect([answered, api.requests.GET]).toEqual([0, 0]);
      release();
      await expect(Promise.all(held)).resolves.toEqual([200, 200]);
      expect((await fetch(`${api.url}/users/4`)).status).toBe(200);
      expect(api.requests.GET).toBe(3);
      release(); // a second call changes nothing
    } finally {
      await api.close();
    }
  });

  test('refuses a fault rate outside 0 to 1', async () => {
    await expect(startBankApi({ seed: [], faults: { errorRate: 1.5 } })).rejects.toThrow(
      'errorRate must be a fraction from 0 to 1, got 1.5.',
    );
  });
});

describe('the LLM simulator', () => {
  test('lists a model and logs every request, to memory and to its log file', async () => {
    const logFile = path.join(scratchDir(), 'llm.jsonl');
    const llm = await startLlm({ logFile });
    try {
      const models = (await (await fetch(`${llm.baseURL}/models`)).json()) as { data: { id: string }[] };
      expect(models.data[0]!.id).toBe('gpt-4o-mini-simulated');
      const body = {
        model: 'x',
        messages: [{ role: 'user', content: 'Crie uma mensagem para Lia sobre a importância dos investimentos' }],
      };
      const answer = (await (
        await fetch(`${llm.baseURL}/chat/completions`, { method: 'POST', headers: json, body: JSON.stringify(body) })
      ).json()) as {
        choices: { message: { content: string } }[];
      };
      expect(answer.choices[0]!.message.content.startsWith('Lia, ')).toBe(true);
      const logged = (await (await fetch(`${llm.url}/_requests`)).json()) as { body: unknown }[];
      expect(logged.map((r) => r.body)).toEqual([body]);
      expect(
        readFileSync(logFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { body: unknown }).body),
      ).toEqual([body]);
    } finally {
      await llm.close();
    }
  });
});
