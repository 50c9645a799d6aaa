// The message's pure helpers, shared by the workflows and the activities (no I/O, safe in the workflow sandbox):
// the first name, the offline templates, the mock record and appending a message to a customer's news.
// Types only from ./customer: its schema (zod) stays out of the workflow bundle, where each workflow would load it.
import type { Customer, NewsItem } from './customer';

/** A customer's news, none when the API holds null. */
export const newsOf = (customer: Customer): NewsItem[] => customer.news ?? [];

/** The icon the original pipeline gave every news item it wrote. */
export const newsIcon = 'https://digitalinnovationone.github.io/santander-dev-week-2023-api/icons/credit.svg';

/** The languages messages are written in. */
export type Locale = 'pt-BR' | 'en';
export const locales: readonly Locale[] = ['pt-BR', 'en'];

export const maxMessageLength = 100;
const maxFirstNameLength = 30;

/** Terminal escape sequences go whole, so their letters do not stick to the name. */
// eslint-disable-next-line no-control-regex -- matching the escape character is the point
const withoutEscapes = (text: string): string => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

/** The customer's first name, reduced to letters, marks, apostrophes and hyphens: the only personal data a message needs. */
export function firstName(name: string | null, locale: Locale): string {
  const first =
    withoutEscapes((name ?? '').normalize('NFC'))
      .trim()
      .split(/\s+/)[0] ?? '';
  const cleaned = first.replace(/[^\p{L}\p{M}'-]/gu, '').slice(0, maxFirstNameLength);
  return cleaned === '' ? (locale === 'en' ? 'Customer' : 'Cliente') : cleaned;
}

const templates: Record<Locale, readonly string[]> = {
  'pt-BR': [
    '{name}, investir hoje é garantir a tranquilidade do seu amanhã. Comece já!',
    '{name}, faça seu dinheiro trabalhar por você: invista no seu futuro.',
    '{name}, pequenos investimentos hoje constroem grandes conquistas amanhã.',
    '{name}, planeje, invista e veja seus sonhos saírem do papel.',
  ],
  en: [
    '{name}, investing today buys you a calmer tomorrow. Start now!',
    '{name}, make your money work for you: invest in your future.',
    '{name}, small investments today build big achievements tomorrow.',
    '{name}, plan, invest and watch your goals come true.',
  ],
};

/** The offline message for a customer: the same customer always gets the same one. */
export function templateMessage(id: number, name: string | null, locale: Locale): string {
  const list = templates[locale];
  const template = list[id % list.length] ?? list[0] ?? '{name}';
  return template.replace('{name}', firstName(name, locale));
}

/** The stand-in record used when the bank API does not answer for a customer (the original's fallback). */
export function mockCustomer(id: number): Customer {
  const digits = String(id).padStart(5, '0').slice(-5);
  return {
    id,
    name: `Cliente ${id}`,
    account: { number: `${digits}-0`, agency: '0001', balance: 0, limit: 1000 },
    card: { number: `xxxx xxxx xxxx ${digits.slice(-4)}`, limit: 1000 },
    features: [],
    news: [],
  };
}

/** The customer with the message appended to its news, unless the same message is already there. */
export function withMessage(customer: Customer, message: string, icon: string): Customer {
  if (newsOf(customer).some((item) => item.description === message)) return customer;
  return { ...customer, news: [...newsOf(customer), { icon, description: message }] };
}
