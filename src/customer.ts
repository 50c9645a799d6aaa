// The SDW2023 user: the one place that knows its shape. The simulator, the extract and the load use it.
import { z } from 'zod';

const itemSchema = z.object({
  id: z.number().int().optional(),
  icon: z.string(),
  description: z.string(),
});

export const customerSchema = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  account: z.object({
    id: z.number().int().optional(),
    number: z.string(),
    agency: z.string(),
    balance: z.number(),
    limit: z.number(),
  }),
  card: z.object({
    id: z.number().int().optional(),
    number: z.string(),
    limit: z.number(),
  }),
  features: z.array(itemSchema),
  news: z.array(itemSchema),
});

export type Customer = z.infer<typeof customerSchema>;
export type NewsItem = z.infer<typeof itemSchema>;

/** Checks an unknown value against the SDW2023 schema; returns the customer or a one-line reason. */
export function parseCustomer(value: unknown): { customer: Customer } | { problem: string } {
  const result = customerSchema.safeParse(value);
  if (result.success) return { customer: result.data };
  const issue = result.error.issues[0];
  return { problem: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` };
}
