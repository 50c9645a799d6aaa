// The SDW2023 user: the one place that knows its shape. Lenient where the real API is (it stores and returns nulls
// in most fields) and loose (fields this schema does not know are kept, so a load sends back all it received).
import type * as zod from 'zod';

/** The SDW2023 user and its news and feature items. */
function schemasOf({ z }: typeof zod) {
  const item = z.looseObject({
    id: z.number().int().nullish(),
    icon: z.string().nullish(),
    description: z.string().nullish(),
  });
  const customer = z.looseObject({
    id: z.number().int().positive(),
    name: z.string().nullable(),
    account: z
      .looseObject({
        id: z.number().int().nullish(),
        number: z.string().nullish(),
        agency: z.string().nullish(),
        balance: z.number().nullish(),
        limit: z.number().nullish(),
      })
      .nullable(),
    card: z
      .looseObject({
        id: z.number().int().nullish(),
        number: z.string().nullish(),
        limit: z.number().nullish(),
      })
      .nullable(),
    features: z.array(item).nullish(),
    news: z.array(item).nullish(),
  });
  return { item, customer };
}

type Schemas = ReturnType<typeof schemasOf>;
let schemas: Schemas | undefined;

/** The SDW2023 schemas, built on first use: loading zod takes about 40 ms, which a worker spends once it polls. */
export function customerSchemas(): Schemas {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (schemas ??= schemasOf(require('zod') as typeof zod));
}

export type Customer = zod.infer<Schemas['customer']>;
export type NewsItem = zod.infer<Schemas['item']>;

/** Checks an unknown value against the SDW2023 schema; returns the customer or the field and why it does not fit. */
export function parseCustomer(value: unknown): { customer: Customer } | { problem: string } {
  const result = customerSchemas().customer.safeParse(value);
  if (result.success) return { customer: result.data };
  const issue = result.error.issues[0];
  return { problem: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` };
}
