// The rules a reply must pass to be loaded, in order, each with the reason it exists: the allow-list of characters,
// and everything a phisher could use (links, addresses, numbers to call, requests for secrets) in any disguise.
import type { Locale } from '../../personalize';

// The letters pt-BR and English are written with: ASCII and Latin-1 letters (with their accents), Œ/œ, º/ª.
const allowedLetter = /^[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u00FF\u0152\u0153ºª]$/u;
const latinLetter = /^[\p{Script=Latin}]$/u;
// Every character a message may hold: those letters, ASCII digits, the space and ordinary punctuation.
export const allowedChar =
  /^[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u00FF\u0152\u0153ºª0-9 .,!?¡¿:;'"‘’‚“”„«»()\-‐‑–—…%$€£]$/u;

/** Stands for the customer's first name while the rules run, so a name in any script is allowed where it is used. */
export const nameToken = 'Qname';
/** Words that address the customer without a name. */
const genericAddress = /^(cliente|customer|investidora?|amig[oa]|friend|voce|you|there|todos|all|everyone|qname)$/;

/** Top-level domains a phisher spells out ("ponto com", "dot me"); `de` is left out: "ponto de partida". */
const tld =
  'com|net|org|br|io|me|ly|co|app|info|biz|xyz|online|site|top|click|link|gov|edu|ru|cn|tk|ml|ga|cf|gq|pw|cc|tv|shop|store|vip|club|live|bank|pay|sh|gg|to|us|uk|ai|gl|gd|mx|ar|pt|es|fr|it|jp|su|ws|bz|la|fm';
/** Number words in a row read a phone number out ("nove oito sete seis", "nine eight seven six"). */
const numberWord =
  'zero|um|uma|dois|duas|tres|quatro|cinco|seis|meia|sete|oito|nove|dez|onze|doze|treze|quatorze|catorze|quinze|dezesseis|dezessete|dezoito|dezenove|vinte|trinta|quarenta|cinquenta|sessenta|setenta|oitenta|noventa|cem|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|double|triple|\\d+';

const echoedInstructions =
  /especialista em marketing|m[áa]ximo de \d+ caracteres|marketing expert|at most \d+ characters|ignore (all |the )?(previous|prior|above) instructions|ignore as instru[çc][õo]es|system prompt|nunca uma instru[çc][ãa]o|never an instruction|\b(como|as) (uma? |an? )?(ia|ai|assistente|assistant|modelo de linguagem|language model)\b/i;
const languageWords: Record<Locale, RegExp> = {
  'pt-BR':
    /\b(você|seu|sua|seus|suas|para|com|hoje|futuro|invista|investir|investimentos?|dinheiro|sonhos|de|do|da|é|e|o|a|que)\b/giu,
  en: /\b(you|your|to|with|today|future|invest|investing|investment|money|dreams|of|the|is|and|a|that)\b/giu,
};

/** The forms of a message the rules read. */
export interface Forms {
  /** The message as it would be loaded. */
  message: string;
  /** The message with the customer's first name replaced by `nameToken`. */
  plain: string;
  /** `plain` in lower case without accents: what the word rules read, so "SÉNHA" is "senha". */
  skeleton: string;
  /** The customer's first name in the skeleton's form. */
  name: string;
}

interface Rule {
  problem: string;
  refuses: (f: Forms) => boolean;
}

export const skeletonOf = (text: string): string => text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
export const codePoint = (ch: string): string => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Whether a message reads as the locale's language rather than the other one (by their commonest words). */
export function inLanguage(message: string, locale: Locale): boolean {
  const other: Locale = locale === 'en' ? 'pt-BR' : 'en';
  const count = (l: Locale): number => message.match(languageWords[l])?.length ?? 0;
  return count(locale) >= count(other);
}

/** The words of a message that hold a letter outside pt-BR's and English's, split by whether they mix alphabets. */
function foreignLetters(plain: string): 'mixed' | 'foreign' | undefined {
  for (const word of plain.match(/[\p{L}\p{M}]+/gu) ?? []) {
    const letters = [...word];
    const odd = letters.filter((ch) => !allowedLetter.test(ch));
    if (odd.length === 0) continue;
    const mixesScripts =
      letters.some((ch) => allowedLetter.test(ch)) && odd.some((ch) => /\p{L}/u.test(ch) && !latinLetter.test(ch));
    return mixesScripts ? 'mixed' : 'foreign';
  }
  return undefined;
}

/** Numbers a message may hold: money, percentages, years, small counts; anything else could be a code or a phone. */
function numbersAllowed(plain: string): boolean {
  // A digit stuck to a letter is a code, a leet word or hex ("s3nha", "A1B2", "0xC0"); ordinals and "2x", "24h" are fine.
  if (/\p{L}\d/u.test(plain)) return false;
  if (/\d(?!(?:º|ª|o|a|st|nd|rd|th|x|h)(?!\p{L}))\p{L}/u.test(plain)) return false;
  // "$", "€" and "£" only before an amount: "$enha" spells a word.
  if (/\$(?!\s?\d)|(?<![\s(]|^|\bR|\bUS)\$/u.test(plain) || /[€£](?!\s?\d)/u.test(plain)) return false;
  // "%" only after a number: "%2E" is percent-encoding.
  if (/(?<!\d\s?)%/u.test(plain)) return false;
  const numbers = [...plain.matchAll(/((?:R\$|US\$|\$|€|£)\s?)?(\d+(?:[.,]\d+)*)(\s?%)?/gu)];
  // Many numbers, or many digits, are a phone number or an account read out in pieces.
  if (numbers.length > 4) return false;
  if ((plain.match(/\d/g) ?? []).length > 8) return false;
  return numbers.every((m) => {
    const [whole, currency, digits = '', percent] = m;
    if (currency) return /^(\d{1,3}([.,]\d{3})*|\d{1,7})([.,]\d{1,2})?$/.test(digits);
    if (percent) return /^\d{1,3}([.,]\d{1,2})?$/.test(digits);
    if (/^(19|20)\d{2}$/.test(digits) || /^(0|[1-9]\d{0,2})([.,]\d{1,2})?$/.test(digits)) return true;
    const after = plain.slice((m.index ?? 0) + whole.length);
    return (
      /^\d{1,3}([.,]\d{3})+$/.test(digits) && /^\s?(reais|real|d[óo]lar(es)?|dollars?|euros?|pounds?)\b/iu.test(after)
    );
  });
}

/** Capitalised words the message addresses, signs with, or names as a title or a contact. */
function namedPeople(plain: string): string[] {
  const word = "(?<!\\p{L})(\\p{Lu}[\\p{L}'’-]*)";
  const patterns = [
    // A greeting names who the message is for: "Olá, Maria!", "Hi John,".
    `(?:^|[.!?]\\s+)(?:[Oo]l[áa]|[Oo]i|[Ee]i|[Hh]ey|[Hh]i|[Hh]ello|[Dd]ear|[Pp]rezad[oa]|[Qq]uerid[oa]|[Cc]ar[oa]|[Bb]om dia|[Bb]oa tarde|[Bb]oa noite|[Gg]ood (?:morning|afternoon|evening))[\\s,!]+${word}`,
    // A title is followed by a person's name: "Sr. Carlos", "Mrs Smith".
    `\\b(?:Sr|Sra|Srta|Dr|Dra|Mr|Mrs|Ms|Dona|Senhor|Senhora|Mister)\\.?\\s+${word}`,
    // A role followed by a name offers a contact: "seu gerente Carlos", "your advisor John".
    `\\b(?:gerente|assessora?|consultora?|atendente|especialista|analista|advisor|adviser|manager|agent|banker|representative|consultant|planner)\\s+${word}`,
    // A name followed by the role it claims is a contact too: "Mike, your bank advisor".
    `${word},?\\s+(?:seu|sua|your)\\s+(?:[\\p{L}]+\\s+)?(?:gerente|assessora?|consultora?|atendente|especialista|analista|advisor|adviser|manager|agent|banker|representative|consultant|planner)\\b`,
    // A sign-off names the sender: "Att, Roberto", "Regards, John".
    `(?:^|[.!?,]\\s*)(?:[Aa]tt|[Aa]tenciosamente|[Aa]bra[çc]os?|[Aa]bs|[Aa]ss|[Rr]egards|[Ss]incerely|[Cc]heers|[Cc]ordialmente|[Aa]ssinado|[Ss]igned|[Bb]est wishes)\\.?[\\s,:]+${word}`,
  ];
  return patterns.flatMap((p) => [...plain.matchAll(new RegExp(p, 'gu'))].map((m) => m[1] ?? ''));
}

/** The rules in order; the first that refuses gives the problem. Each says in one line why it exists. */
export const rules: Rule[] = [
  {
    // Letters of other alphabets inside Latin words are homoglyphs ("senhа" with a Cyrillic а) that dodge every rule below.
    problem: 'the reply mixes alphabets inside a word (look-alike letters)',
    refuses: (f) => foreignLetters(f.plain) === 'mixed',
  },
  {
    // pt-BR and English need no other letters; any other is a disguise or not the run's language.
    problem: 'the reply holds letters outside the pt-BR and English alphabet',
    refuses: (f) => foreignLetters(f.plain) === 'foreign',
  },
  {
    // Single letters in a row spell a word past the rules: "b a n c o . c o m", "s-e-n-h-a".
    problem: 'the reply spells a word letter by letter',
    refuses: (f) => /(?:(?<!\p{L})\p{L}[\s.\-_]+){3,}\p{L}(?!\p{L})/u.test(f.skeleton),
  },
  {
    // A link takes the customer off the bank's app: schemes, "hxxps", "www", percent-encoding.
    problem: 'the reply holds a URL',
    refuses: (f) =>
      /https?:\/\/|:\/\/|\bh[tx]{2}ps?\b|\bwww|\bw\s*w\s*w\s*[.,]|\b(ftp|javascript|vbscript)\s*:|%[0-9a-f]{2}|\burls?\b/.test(
        f.skeleton,
      ),
  },
  {
    // An address or a handle is a contact outside the bank: "@", "arroba", "(at)", mail providers, "mailto".
    problem: 'the reply holds an e-mail address or an @ handle',
    refuses: (f) =>
      /@/.test(f.plain) ||
      /\barroba\b|[[({<]\s*(at|arroba)\s*[\])}>]|\b(gmail|hotmail|outlook|yahoo|icloud|protonmail|proton\s*me)\b|\bmailto\b|\be-?mails?\b|\bmail\b/.test(
        f.skeleton,
      ),
  },
  {
    // A domain is a link without a scheme: "banco.com", "t.me/x", "bit ly", "banco[.]com", "banco ponto com", "xn--".
    problem: 'the reply holds a domain name',
    refuses: (f) => {
      const plain = f.plain.replace(/\b(e\.g|i\.e|U\.S|a\.m|p\.m|S\.A)\./g, ' ');
      return (
        /[\p{L}\d]\.{1,2}\p{L}|(?:^|\s)\.{1,2}\s*\p{L}/u.test(plain) ||
        new RegExp(`\\.+\\s+(${tld})\\b|\\p{L},(${tld})\\b`, 'u').test(plain) ||
        new RegExp(`\\b(dot|ponto|pto)[\\s_-]*(${tld})\\b|[[({<]\\s*(\\.|,|dot|ponto|pto)\\s*[\\])}>]`).test(
          f.skeleton,
        ) ||
        /\bcom[\s.,_-]*br\b|\bxn-|\blocalhost\b|\b(bit\s*ly|tinyurl|tiny\s*cc|t\s+me|wa\s+me|goo\s+gl|cutt\s+ly|is\s+gd|ow\s+ly|rb\s+gy|shorturl|encurtador)\b/.test(
          f.skeleton,
        )
      );
    },
  },
  {
    // An IP address is a link too, dotted or spelled: "192.168.0.1", "10 ponto 0 ponto 0 ponto 1".
    problem: 'the reply holds an IP address',
    refuses: (f) =>
      /\b\d{1,3}(\s*(\.|dot|ponto|\[\.\]|\(\.\))\s*\d{1,3}|,\d{1,3}){3}\b|\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,}/.test(
        f.skeleton,
      ),
  },
  {
    // A number to call or message is the classic phishing hook, in digits, with a scheme or read out in words.
    problem: 'the reply holds a phone number',
    refuses: (f) =>
      [...f.skeleton.matchAll(/(?<![$€£]\s?)\+?\(?\d[\d\s().\-‐‑–—]*\d/g)].some(
        (m) => (m[0].match(/\d/g) ?? []).length >= 7,
      ) ||
      /\btel\s*:|\b0[358]00\b|\bzero[\s-]*oitocentos\b|\b(oh|zero)[\s-]*eight[\s-]*hundred\b/.test(f.skeleton) ||
      new RegExp(`(?:\\b(?:${numberWord})\\b(?:[\\s,.;-]+(?:e\\s+|and\\s+)?)){3,}\\b(?:${numberWord})\\b`).test(
        f.skeleton,
      ),
  },
  {
    // Markup renders or runs where the message is shown: tags (even unclosed), entities, Markdown, templates.
    problem: 'the reply holds markup',
    refuses: (f) => /[<>*_`#[\]{}|~\\^=&]/.test(f.plain),
  },
  {
    // A bank never asks for a secret or personal data in a message: passwords, codes, card data, documents.
    problem: 'the reply asks for passwords, codes, card or personal data',
    refuses: (f) =>
      /\bsenhas?\b|\bpassw(or)?ds?\b|\bpass\s*codes?\b|\bpassphrase|\bpins?\b|\bcv[vc]2?\b|\bc[oó]digos?\s+(de\s+)?(seguranca|verificacao|acesso|confirmacao|autenticacao|validacao|sms)|\b(security|verification|access|confirmation|authentication|sms|one[\s-]?time|otp)\s+codes?\b|\botp\b|\b2fa\b|token|\bcpf\b|\brg\b|\bcnh\b|\bssn\b|social\s+security|data\s+de\s+nascimento|date\s+of\s+birth|birth\s*date|\bdob\b|nome\s+da\s+(sua\s+)?mae|maiden\s+name|(numero|dados|validade|vencimento)\s+do\s+(seu\s+)?cartao|\bcard\s+(number|details|data|info)|expir(y|ation)\s+date|(numero|dados)\s+da\s+(sua\s+)?conta|account\s+(number|details)|dados\s+(bancarios|pessoais|cadastrais|sensiveis)|(personal|bank|banking|login)\s+(data|details|info|information)|informac(oes|ao)\s+pessoa(is|l)|credenc|credential|\blog\s?in\b|\bsign\s+in\b|username|\busuario\b|seed\s+phrase|recovery\s+phrase|frase\s+(de\s+)?(recuperacao|secreta|semente)|chave\s+privada|private\s+key|selfie|foto\s+do\s+(seu\s+)?documento|photo\s+of\s+your\s+(id|document)|assinatura\s+eletronica|\b(seu|sua|o|the|your|this|esse|este|that)\s+(codigo|code)\b/.test(
        f.skeleton,
      ) || /senha|password|cvv/.test(f.skeleton.replace(/[^a-z]/g, '')),
  },
  {
    // A payment request is the scam's goal: PIX keys, boletos, gift cards, fees, another's account or wallet.
    problem: 'the reply asks for a payment or a transfer',
    refuses: (f) =>
      /\bpix\b|chave\s+(pix|aleatoria)|\bboletos?\b|gift\s*cards?|cartao[\s-]presente|\b(pague|pagar|transfira|transferir|deposite|depositar|envie|mande)\s+(uma\s+|a\s+)?(taxa|tarifa)\b|\bpay\s+(a|the)\s+fee\b|\bwire\b|\b(send|transfer|envie|mande|transfira)\s+(us\$|r\$|\$|€|£)?\s?\d|\b(para|pra|to)\s+(esta|essa|a\s+seguinte|nossa|this|the\s+following|our)\s+(conta|chave|carteira|account|wallet)\b|\b(bitcoin|crypto|cripto)\s+(wallet|address|carteira)|carteira\s+(bitcoin|cripto)|wallet\s+address/.test(
        f.skeleton,
      ),
  },
  {
    // The message lives in the bank's app; pointing elsewhere (links, sites, QR codes, apps, chats, calls) is phishing.
    problem: "the reply points the customer outside the bank's app (link, site, QR code, app or contact)",
    refuses: (f) =>
      /\blinks?\b|\bsites?\b|\bwebsites?\b|\bweb\b|\bcliqu|\bclica\b|\bclick|\btoque\s+(aqui|no|na)\b|\btap\s+(here|the|on)\b|\bacess[ea]\b|\bacessar\b|\bvisit(e|a|ar)?\b|\bqr\b|qrcode|\bescane|\bscan\b|\bbaixe\b|\bbaixar\b|\bdownload|\binstal[ea]\b|\binstall|\bwhats|\bzap(zap)?\b|\bwpp\b|\btelegram|\binstagram|\binsta\b|\bfacebook|\btiktok|\btwitter|\byoutube|\bkwai\b|\bdiscord|\bsiga-nos\b|\bnos\s+siga\b|\bfollow\s+us\b|\bdm\b|\binbox\b|\bsms\b|\btelefon|\btelephon|\bphone\s+number|\bnumero\s+de\s+(telefone|celular|contato|whats)|\bligue\b|\bligar\b|\bliga\s+(pra|para)\b|\bcall\s+(us|me|now|today|our|the|this)\b|\bgive\s+(us|me)\s+a\s+(call|ring)\b|\btext\s+(us|me)\b|\bcontat|\bcontact|\bfale\s+(com|conosco)\b|\bchama\s+no\b|\btalk\s+to\b|\bspeak\s+(to|with)\b|\bmessage\s+us\b|\bmensagem\s+(para|pra|no)\b|\batendimento\b|\bcentral\s+de\b|\bsac\b|\bouvidoria\b|\bramal\b|\bsaiba\s+mais\s+(em|no|na)\b|\blearn\s+more\s+(at|on)\b|\b(app|play)\s+store\b|\bgoogle\b|\bpesquise\b|\bsearch\s+(for|on)\b|\blook\s+up\b/.test(
        f.skeleton,
      ),
  },
  {
    // Asking the customer to answer or type something starts a conversation a phisher runs.
    problem: 'the reply asks the customer to reply, send or type something',
    refuses: (f) =>
      /\b(responda|responder|reply|respond|digite|digitar|forneca|fornecer|envie|enviar|envia|mande|mandar)\b|\binforme\b(?!-se|\s+de\b)|\bcompartilhe\s+(seus?|suas?|o|a|conosco)\b|\bshare\s+(your|it|this|with\s+us)\b|\bsend\s+(us|me|your|it|a|the)\b|\btype\s+(your|in|the)\b|\bprovide\s+(your|us)\b|\btell\s+(us|me)\b|\bconfirm(e|ar)?\s+(your|seus?|suas?|o|a|the)\b|\bverif(y|ique|icar)\s|\bupdate\s+your\b|\batualiz(e|ar)\s+(seus?|suas?|o|a)\b/.test(
        f.skeleton,
      ),
  },
  {
    // Threats to the account and prizes are how a phisher makes the customer act without thinking.
    problem: 'the reply reads as a scam (a threat to the account or a prize)',
    refuses: (f) =>
      /\b(conta|cartao|acesso|account|card|access)\b.{0,30}\b(bloquead|suspens|cancelad|encerrad|desativad|restrit|clonad|invadid|comprometid|locked|suspended|blocked|frozen|closed|deactivated|restricted|cloned|hacked|compromised)|\b(bloquead|suspens|locked|suspended|blocked|frozen)\w*\b.{0,20}\b(conta|cartao|account|card)\b|\b(unlock|desbloque|liber)\w*\s+(your|seus?|suas?|o|a)\s+(bonus|investment|investimento|returns|rendimentos?|premio|saldo|dinheiro|money|funds)\b|\bvoce\s+(ganhou|foi\s+sortead|foi\s+selecionad)|\byou('ve|\s+have)?\s+(won|been\s+selected)\b|\bpremi(o|ado|ada)\b|\bprize|\bsorteio|\bsortead|\blotter|\bloteria|\burgent|\bimediatamente\b|\bimmediately\b|\bultimo\s+aviso\b|\bfinal\s+notice\b|\bgolpe\s+detectado|\bfraud\s+(alert|detected)|\batividade\s+suspeita|\bsuspicious\s+activity|\bcompra\s+nao\s+reconhecida|\bunrecognized\s+(purchase|transaction)/.test(
        f.skeleton,
      ),
  },
  {
    // Only letters, digits, spaces and ordinary punctuation may remain: emoji, symbols and other signs refuse.
    problem: 'the reply holds a character outside letters, digits and punctuation',
    refuses: (f) => [...f.plain].some((ch) => !allowedChar.test(ch)),
  },
  {
    // Digits only as money, percentages, years and small counts: anything else is a code, an account or a phone.
    problem: 'the reply holds digits or currency signs outside amounts, percentages and years',
    refuses: (f) => !numbersAllowed(f.plain),
  },
  {
    // An echo of the prompt, or the model talking about itself, is not a message for a customer.
    problem: 'the reply echoes instructions',
    refuses: (f) => echoedInstructions.test(f.message),
  },
  {
    // The message may address the customer by first name; a greeting, title, contact or signature naming someone else
    // is meant for another person or impersonates a bank employee.
    problem: 'the reply names someone other than the customer',
    refuses: (f) =>
      namedPeople(f.plain).some((word) => {
        const w = skeletonOf(word).replace(/['’-]+$/, '');
        return w !== f.name && !genericAddress.test(w);
      }),
  },
];
