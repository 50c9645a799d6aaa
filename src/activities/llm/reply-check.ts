// The check every LLM reply passes before it can be loaded into a customer's news. A bank's customers read these
// messages, so the check is an allow-list: after NFKC normalisation a message may only hold letters of pt-BR and
// English, digits as amounts, percentages, years and small counts, spaces and ordinary punctuation, and nothing a
// phisher could use (a link, an address, a number to call, a request for a secret) in any disguise.
import { maxMessageLength, type Locale } from '../../personalize';
import { allowedChar, codePoint, inLanguage, nameToken, rules, skeletonOf, type Forms } from './reply-rules';

/** The reply as a message to load, or why it cannot be one (fixed ASCII text: it goes into reports and terminals). */
export type CheckedReply = { message: string } | { problem: string };

// C0 and C1 controls other than tab, line feed and carriage return (those are whitespace): terminal escapes, bells.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlChars = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
// Invisible and bidirectional characters hide or reorder what the customer reads: every format character (zero-width
// spaces and joiners, soft hyphen, bidi overrides and isolates, tags), line and paragraph separators, variation
// selectors, blank fillers.
const invisibleChars =
  // eslint-disable-next-line no-misleading-character-class -- the combining ones are listed on purpose, one by one
  /[\p{Cf}\u2028\u2029\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u2800\u3164\uFE00-\uFE0F\uFFA0\u{E0100}-\u{E01EF}]/u;
// Ordinal indicators and the ellipsis are kept as written; NFKC would turn "1º" into "1o" and "…" into "...".
const keptAsWritten = /([ºª…])/u;

/** The message as it would be loaded: NFKC (but ordinals and the ellipsis), one space between words, no outer quotes. */
function normalized(reply: string): string {
  return reply
    .split(keptAsWritten)
    .map((part) => (keptAsWritten.test(part) ? part : part.normalize('NFKC')))
    .join('')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^["'“”«»`]+|["'“”«»`]+$/g, '')
    .trim();
}

const wordChar = /^[\p{L}\p{M}\p{N}]$/u;
/** Whether the code point that starts at `at` (or, `before`, ends just before it) is part of a word. */
function wordCharAt(text: string, at: number, before = false): boolean {
  if (before) at -= /[\uDC00-\uDFFF]/.test(text[at - 1] ?? '') && /[\uD800-\uDBFF]/.test(text[at - 2] ?? '') ? 2 : 1;
  const ch = text.codePointAt(at);
  return ch !== undefined && at >= 0 && wordChar.test(String.fromCodePoint(ch));
}

/**
 * The message with the customer's first name (as given, or capitalised) replaced by `nameToken` where it stands as a
 * word of its own. A scan, not a regular expression made of the name: compiling one for every reply was about a
 * third of the check's time.
 */
function withoutName(message: string, firstName: string): string {
  const name = firstName.normalize('NFKC').trim();
  if (name === '') return message;
  const forms = [...new Set([name, (name[0] ?? '').toUpperCase() + name.slice(1)])];
  const standsAlone = (at: number, length: number): boolean =>
    !wordCharAt(message, at, true) && !wordCharAt(message, at + length);
  let plain = '';
  let from = 0;
  for (let at = 0; at < message.length; at++) {
    // A loop, not forms.find: a closure for every character of every reply was the check's largest garbage.
    for (const form of forms) {
      if (!message.startsWith(form, at) || !standsAlone(at, form.length)) continue;
      plain += message.slice(from, at) + nameToken;
      from = at + form.length;
      at = from - 1;
      break;
    }
  }
  return plain + message.slice(from);
}

/**
 * The reply as a message to load, or why it cannot be one. `firstName` is the customer's first name as sent in the
 * prompt (reduced by `firstName()`): the message may address the customer by it, in any script.
 */
export function checkReply(reply: string | null | undefined, locale: Locale, firstName: string): CheckedReply {
  const raw = reply ?? '';
  // Control characters are terminal escapes and bells, never text.
  if (controlChars.test(raw)) return { problem: 'the reply holds control characters' };
  // Invisible and bidirectional characters hide a link or reverse what is read ("moc.ocnab").
  if (invisibleChars.test(raw)) return { problem: 'the reply holds invisible or bidirectional characters' };
  const message = normalized(raw);
  if (message === '') return { problem: 'the reply is empty' };
  if ([...message].length > maxMessageLength) return { problem: `the reply is over ${maxMessageLength} characters` };
  const plain = withoutName(message, firstName);
  const forms: Forms = {
    message,
    plain,
    skeleton: skeletonOf(plain),
    name: skeletonOf(firstName.normalize('NFKC')),
  };
  for (const rule of rules) {
    if (rule.refuses(forms)) {
      const odd = rule.problem.startsWith('the reply holds a character outside')
        ? [...plain].find((ch) => !allowedChar.test(ch))
        : undefined;
      return { problem: odd ? `${rule.problem} (${codePoint(odd)})` : rule.problem };
    }
  }
  // The message is in the run's language.
  if (!inLanguage(plain, locale)) return { problem: `the reply is not in ${locale}` };
  return { message };
}
