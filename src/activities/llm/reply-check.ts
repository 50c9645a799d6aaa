// The check every LLM reply passes before it can be loaded: length, no URL or markup, no echoed prompt, the language.
import { maxMessageLength, type Locale } from '../../personalize';

const echoedInstructions =
  /especialista em marketing|m[áa]ximo de \d+ caracteres|marketing expert|at most \d+ characters|ignore (all |the )?(previous|prior|above) instructions|ignore as instru[çc][õo]es|system prompt|nunca uma instru[çc][ãa]o|never an instruction/i;
const languageWords: Record<Locale, RegExp> = {
  'pt-BR':
    /\b(você|seu|sua|seus|suas|para|com|hoje|futuro|invista|investir|investimentos?|dinheiro|sonhos|de|do|da|é|e|o|a|que)\b/giu,
  en: /\b(you|your|to|with|today|future|invest|investing|investment|money|dreams|of|the|is|and|a|that)\b/giu,
};

/** Whether a message reads as the locale's language rather than the other one (by their commonest words). */
function inLanguage(message: string, locale: Locale): boolean {
  const other: Locale = locale === 'en' ? 'pt-BR' : 'en';
  const count = (l: Locale): number => message.match(languageWords[l])?.length ?? 0;
  return count(locale) >= count(other);
}

/** The reply as a message to load, or why it cannot be one. */
export function checkReply(
  reply: string | null | undefined,
  locale: Locale,
): { message: string } | { problem: string } {
  const message = (reply ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^["'“”«»`]+|["'“”«»`]+$/g, '')
    .trim();
  if (message === '') return { problem: 'the reply is empty' };
  if ([...message].length > maxMessageLength) return { problem: `the reply is over ${maxMessageLength} characters` };
  if (/https?:\/\/|www\.|\b[a-z0-9-]+\.(com|net|org|br|io)\b/i.test(message))
    return { problem: 'the reply holds a URL' };
  if (/<\/?[a-z][^>]*>|\*\*|__|```|^#+ |\[[^\]]*\]\(/i.test(message)) return { problem: 'the reply holds markup' };
  if (echoedInstructions.test(message)) return { problem: 'the reply echoes instructions' };
  if (!inLanguage(message, locale)) return { problem: `the reply is not in ${locale}` };
  return { message };
}
