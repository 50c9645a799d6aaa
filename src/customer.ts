// The SDW2023 user: the one place that knows its shape. Lenient where the real API is (it stores and returns nulls
// in most fields) and loose (fields this schema does not know are kept, so a load sends back all it received).
import { z } from 'zod';

const itemSchema = z.looseObject({
  id: z.number().int().nullish(),
  icon: z.string().nullish(),
  description: z.string().nullish(),
});

export const customerSchema = z.looseObject({
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
  features: z.array(itemSchema).nullish(),
  news: z.array(itemSchema).nullish(),
});

export type Customer = z.infer<typeof customerSchema>;
export type NewsItem = z.infer<typeof itemSchema>;

/** Checks an unknown value against the SDW2023 schema; returns the customer or the field and why it does not fit. */
export function parseCustomer(value: unknown): { customer: Customer } | { problem: string } {
  const result = customerSchema.safeParse(value);
  if (result.success) return { customer: result.data };
  const issue = result.error.issues[0];
  return { problem: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` };
}
