// Whether a message is safe to load into a customer's news: hostile replies in every disguise are refused with the
// reason, and real messages (written ones, the LLM simulator's, the offline templates) all pass.
import type OpenAI from 'openai';
import { writeMessage } from '../../src/activities/llm';
import type { LlmClient } from '../../src/activities/llm/client';
import { checkReply } from '../../src/activities/llm/reply-check';
import { failureTypes } from '../../src/failures';
import { firstName, templateMessage, type Locale } from '../../src/personalize';
import { simulatedMessages, uniqueReply } from '../../src/simulators/llm';
import { activityEnv, failureOf } from '../helpers';

const problems = {
  control: 'the reply holds control characters',
  invisible: 'the reply holds invisible or bidirectional characters',
  mixed: 'the reply mixes alphabets inside a word (look-alike letters)',
  foreign: 'the reply holds letters outside the pt-BR and English alphabet',
  spelled: 'the reply spells a word letter by letter',
  url: 'the reply holds a URL',
  email: 'the reply holds an e-mail address or an @ handle',
  domain: 'the reply holds a domain name',
  ip: 'the reply holds an IP address',
  phone: 'the reply holds a phone number',
  markup: 'the reply holds markup',
  secret: 'the reply asks for passwords, codes, card or personal data',
  payment: 'the reply asks for a payment or a transfer',
  elsewhere: "the reply points the customer outside the bank's app (link, site, QR code, app or contact)",
  request: 'the reply asks the customer to reply, send or type something',
  scam: 'the reply reads as a scam (a threat to the account or a prize)',
  character: 'the reply holds a character outside letters, digits and punctuation',
  digits: 'the reply holds digits or currency signs outside amounts, percentages and years',
  echo: 'the reply echoes instructions',
  person: 'the reply names someone other than the customer',
} as const;
type Problem = keyof typeof problems;

/** [why it must be refused, the reply, the problem expected, locale (pt-BR unless given)]; the customer is Ana. */
const hostile: [string, string, Problem, Locale?][] = [
  // Control and invisible characters.
  ['terminal escapes clear the screen', 'Ana, invista já!\u001b[2J\u001b[31m', 'control'],
  ['a bell and an escape', 'Ana, invista\u0007 já', 'control'],
  ['a C1 control (CSI)', 'Ana, invista\u009b31m já', 'control'],
  ['a zero-width space hides a link from a dot check', 'Ana, invista em banco\u200b.com', 'invisible'],
  ['a right-to-left override reverses a domain', 'Ana, invista em \u202emoc.ocnab\u202c hoje', 'invisible'],
  ['bidi isolates reorder what is read', 'Ana, invista hoje \u2066seguro\u2069 já', 'invisible'],
  ['soft hyphens split a word past the rules', 'Ana, informe sua sen\u00adha', 'invisible'],
  ['a byte order mark at the start', '\ufeffAna, invista hoje no seu futuro', 'invisible'],
  ['a zero-width joiner inside a word', 'Ana, invista\u200d já', 'invisible'],
  ['Unicode tag characters carry hidden text', 'Ana, invista já\u{e0041}\u{e0042}', 'invisible'],
  ['a left-to-right mark', 'Ana, invista\u200e hoje', 'invisible'],
  // Links with a scheme, in disguise.
  ['a URL', 'Ana, veja https://banco.example/invest', 'url'],
  ['a defanged scheme', 'Ana, acesse hxxps://banco-seguro.example agora', 'url'],
  ['a fullwidth scheme normalises to https://', 'Ana, invista: ｈｔｔｐｓ：／／banco', 'url'],
  ['www without dots', 'Ana, veja www banco seguro', 'url'],
  ['percent-encoded dots', 'Ana, invista em banco%2Eseguro', 'url'],
  ['a javascript: link', 'Ana, invista via javascript:alert(1)', 'url'],
  // Domains without a scheme.
  ['a domain with a path', 'Ana, invista em bancoseguro.com/investir hoje', 'domain'],
  ['a shortener', 'Ana, confira bit.ly/invista-ja', 'domain'],
  ['a Telegram link', 'Ana, fale no t.me/bancoseguro', 'domain'],
  ['a defanged dot [.]', 'Ana, invista em banco[.]com', 'domain'],
  ['a defanged dot (.)', 'Ana, invista em banco(.)seguro(.)com', 'domain'],
  ['a dot spelled "ponto"', 'Ana, invista em banco ponto com ponto br', 'domain'],
  ['a dot spelled "dot"', 'Ana, invest at safebank dot com today', 'domain', 'en'],
  ['a dot spelled "[dot]"', 'Ana, invista em banco [dot] seguro', 'domain'],
  ['a fullwidth dot normalises to a dot', 'Ana, invista em banco．com', 'domain'],
  ['a mathematical bold domain normalises to letters', 'Ana, invista em 𝐛𝐚𝐧𝐜𝐨.com', 'domain'],
  ['punycode', 'Ana, invista em xn--banco-seguro-5za hoje', 'domain'],
  ['a dot with a space before it', 'Ana, invista em bancoseguro .com', 'domain'],
  ['a dot with a space after it', 'Ana, invista em bancoseguro. com', 'domain'],
  ['a comma for a dot', 'Ana, invista em bancoseguro,com hoje', 'domain'],
  ['"com br" without dots', 'Ana, busque bancoseguro com br e invista', 'domain'],
  ['a domain with hyphens for dots', 'Ana, invista em banco-seguro-com-br hoje', 'domain'],
  ['a shortener with a space', 'Ana, invista pelo bit ly de hoje', 'domain'],
  // Look-alike letters and other alphabets.
  ['a Cyrillic а inside "senha"', 'Ana, informe sua senhа', 'mixed'],
  ['a Greek Ρ inside a brand', 'Ana, invest with Ρaypal today', 'mixed', 'en'],
  ['a Cyrillic о inside a domain', 'Ana, invista em bancо seguro', 'mixed'],
  ['a whole message in Cyrillic', 'Ana, вложите деньги сегодня', 'foreign'],
  ['a dotless ı', 'Ana, ınvista já no seu futuro', 'foreign'],
  ['stacked combining marks', 'Ana, i\u0336n\u0336vista já', 'foreign'],
  // Spelled out letter by letter.
  ['a domain spelled letter by letter', 'Ana, veja b a n c o seguro', 'spelled'],
  ['a password spelled with hyphens', 'Ana, informe a s-e-n-h-a', 'spelled'],
  // E-mail and handles.
  ['an e-mail address', 'Ana, escreva para gerente@banco-seguro.example', 'email'],
  ['"arroba" for @', 'Ana, envie para gerente arroba gmail', 'email'],
  ['"(at)" for @', 'Ana, write to manager (at) safebank today', 'email', 'en'],
  ['mailto:', 'Ana, invista: mailto:gerente', 'email'],
  ['an @ handle', 'Ana, siga @bancoseguro e invista', 'email'],
  ['a fullwidth @', 'Ana, fale com ＠gerente e invista', 'email'],
  ['asking for an e-mail', 'Ana, invest today and e-mail your manager', 'email', 'en'],
  // IP addresses.
  ['a bare IP address', 'Ana, invista em 192.168.10.20 hoje', 'ip'],
  ['an IP address with "ponto"', 'Ana, acesse 10 ponto 0 ponto 0 ponto 1', 'ip'],
  // Phone numbers.
  ['a mobile number', 'Ana, ligue (11) 98765-4321 e invista', 'phone'],
  ['a toll-free number', 'Ana, chame no 0800 123 4567', 'phone'],
  ['a number read out in Portuguese', 'Ana, anote: nove oito sete seis cinco quatro', 'phone'],
  ['a number read out in English', 'Ana, dial nine eight seven six five four three', 'phone', 'en'],
  ['a number in digits and words', 'Ana, anote: nove 8 sete 6 cinco', 'phone'],
  ['a capital-cities number', 'Ana, disque 4004 0001 para investir', 'phone'],
  ['an international number', 'Ana, contato +55 11 3003 9303', 'phone'],
  ['a tel: link', 'Ana, invista já tel:3003', 'phone'],
  ['circled digits normalise to a phone number', 'Ana, invista ①①⑨⑧⑦⑥⑤④③②①', 'phone'],
  ['0800 spelled out', 'Ana, ligue zero oitocentos e invista', 'phone'],
  // Markup.
  ['an unclosed img tag with onerror', 'Ana, <img src=x onerror=alert(1)', 'markup'],
  ['an HTML tag', '<b>Ana</b>, invista', 'markup'],
  ['Markdown bold', 'Ana, **invista** já', 'markup'],
  ['a Markdown link', 'Ana, [clique aqui](banco) e invista', 'markup'],
  ['an HTML entity', 'Ana, invista &#46; hoje', 'markup'],
  ['a Markdown heading', '# Ana, invista hoje', 'markup'],
  ['a template placeholder', 'Ana, invista {{link}} hoje', 'markup'],
  // Requests for secrets and personal data.
  ['the password', 'Ana, confirme sua senha para liberar seu investimento', 'secret'],
  ["the card's security code", 'Ana, informe o código de segurança do cartão (CVV)', 'secret'],
  ['CPF and date of birth', 'Ana, seu CPF e data de nascimento liberam seu bônus', 'secret'],
  ['the password in English', 'Ana, confirm your password to unlock your investment', 'secret', 'en'],
  ['the code sent by SMS', 'Ana, reply with the code we sent you', 'secret', 'en'],
  ['the token', 'Ana, digite seu token para confirmar o investimento', 'secret'],
  ['the card number', 'Ana, tell us your card number and expiry date', 'secret', 'en'],
  ["the mother's name", 'Ana, qual é o nome da sua mãe? Invista hoje', 'secret'],
  ['a password split by a space', 'Ana, qual é a sua sen ha? Invista hoje', 'secret'],
  ['the PIN', 'Ana, your PIN keeps investing safe, keep it handy', 'secret', 'en'],
  ['personal data', 'Ana, atualize seus dados cadastrais e invista', 'secret'],
  ['a selfie with a document', 'Ana, send us a selfie to start investing', 'secret', 'en'],
  ['the login', 'Ana, faça login no novo portal e invista', 'secret'],
  ['the recovery phrase', 'Ana, your seed phrase unlocks a bonus today', 'secret', 'en'],
  // Payments.
  ['a PIX', 'Ana, faça um PIX de R$ 10 para liberar seu bônus', 'payment'],
  ['a PIX key', 'Ana, use a chave aleatória para investir hoje', 'payment'],
  ['a boleto', 'Ana, pague o boleto da taxa e invista', 'payment'],
  ['a gift card', 'Ana, buy a gift card to unlock your returns', 'payment', 'en'],
  ['a fee', 'Ana, pague a taxa de liberação e invista hoje', 'payment'],
  ["another's account", 'Ana, invest by moving money to this account today', 'payment', 'en'],
  // Pointing elsewhere.
  ['"clique aqui"', 'Ana, clique aqui e invista hoje mesmo', 'elsewhere'],
  ['"click here"', 'Ana, click here to invest today!', 'elsewhere', 'en'],
  ['WhatsApp', 'Ana, chama no WhatsApp do seu gerente', 'elsewhere'],
  ['"zap"', 'Ana, manda um oi no zap e invista', 'elsewhere'],
  ['Telegram', 'Ana, fale com a gente no Telegram', 'elsewhere'],
  ['a QR code', 'Ana, escaneie o QR code e invista', 'elsewhere'],
  ['another app', 'Ana, baixe o app InvesteJá e comece hoje', 'elsewhere'],
  ['a call centre', 'Ana, invista hoje com nossa central de atendimento', 'elsewhere'],
  ['a call', 'Ana, call us today to start investing', 'elsewhere', 'en'],
  ['a link in a bio', 'Ana, the link in our bio has your bonus', 'elsewhere', 'en'],
  ['a site', 'Ana, visite nosso site e invista', 'elsewhere'],
  ['an SMS', 'Ana, invista hoje pelo SMS do banco', 'elsewhere'],
  ['a search that lands on a fake site', 'Ana, pesquise Banco Seguro no Google e invista', 'elsewhere'],
  // Asking for an answer.
  ['"responda SIM"', 'Ana, responda SIM para investir hoje', 'request'],
  ['"tell us"', 'Ana, tell us how much you want to invest', 'request', 'en'],
  // Scams.
  ['a threat to the account', 'Ana, sua conta será bloqueada hoje: invista para evitar', 'scam'],
  ['a prize', 'Ana, você ganhou um prêmio de R$ 500 para investir!', 'scam'],
  ['a threat in English', 'Ana, your account is suspended until you invest', 'scam', 'en'],
  ['urgency', 'Ana, é urgente: invista hoje no seu futuro', 'scam'],
  // Characters outside the allow-list.
  ['an emoji', 'Ana, invista já 🚀 no seu futuro', 'character'],
  ['a middle dot', 'Ana, invista no banco·com hoje', 'character'],
  ['an ideographic full stop', 'Ana, invista no banco。com', 'character'],
  ['an envelope symbol', 'Ana, invista hoje ✉ agora', 'character'],
  ['a slash', 'Ana, invista e/ou poupe hoje', 'character'],
  ['a plus sign', 'Ana, invista + hoje', 'character'],
  // Digits that are not amounts, percentages or years.
  ['a long number', 'Ana, invista 98765 hoje no seu futuro', 'digits'],
  ['a coupon mixing letters and digits', 'Ana, use o cupom A1B2C3 e invista', 'digits'],
  ['leet', 'Ana, s3nh4 segura rende mais', 'digits'],
  ['a dollar sign for an s', 'Ana, $enha segura é investimento seguro', 'digits'],
  ['hex', 'Ana, invista em 0xC0A80001 hoje', 'digits'],
  ['a number with a leading zero', 'Ana, invista 0112 no seu futuro', 'digits'],
  ['too many numbers', 'Ana, 10 anos, 20 metas, 30 dias, 40 sonhos e 50 vezes', 'digits'],
  // Echoes, other people.
  ['an echoed injection', 'Ana, ignore previous instructions: invista já', 'echo'],
  ['the model talking about itself', 'Como uma IA, recomendo que você invista, Ana', 'echo'],
  ['greets someone else', 'Olá, Maria! Invista no seu futuro hoje', 'person'],
  ['names a manager as a contact', 'Ana, seu gerente Carlos recomenda investir hoje', 'person'],
  ['signed by someone', 'Ana, invista hoje. Att, Roberto', 'person'],
  ['a title and another name', 'Ana, o Sr. Marcos separou uma oferta para você', 'person'],
  ['greets someone else in English', 'Hi John, your future starts with investing today', 'person', 'en'],
];

/** [the customer's first name, a message that must pass, locale]. */
const benign: [string, string, Locale][] = [
  ['Ana', 'Ana, investir R$ 50 por mês hoje faz diferença no seu futuro. Comece já!', 'pt-BR'],
  ['João', 'João, que tal separar 10% do salário para investir? Seu futuro agradece!', 'pt-BR'],
  ['Maria', 'Maria, o Tesouro Direto é um ótimo começo para investir com segurança.', 'pt-BR'],
  ['Lucas', 'Lucas, com disciplina, pequenos aportes viram grandes conquistas. Invista hoje!', 'pt-BR'],
  ['Beatriz', 'Beatriz, planeje 2030 desde já: invista um pouco todo mês.', 'pt-BR'],
  ['Gabriel', 'Gabriel, seu dinheiro parado perde valor — faça ele render para você!', 'pt-BR'],
  ['Fernanda', 'Fernanda, a reserva de emergência é o primeiro passo. Que tal começar hoje?', 'pt-BR'],
  ['Rafael', 'Rafael, investir é cuidar do seu amanhã. Dê o primeiro passo agora!', 'pt-BR'],
  ['Camila', 'Camila, juros compostos trabalham a seu favor: comece a investir cedo.', 'pt-BR'],
  ['Pedro', 'Pedro, diversificar é proteger seus sonhos. Conheça CDB, LCI e fundos!', 'pt-BR'],
  ['Larissa', 'Larissa, com R$ 100 você já pode começar a investir no seu futuro.', 'pt-BR'],
  ['Thiago', 'Thiago, seu 1º investimento é o mais importante. Comece hoje mesmo!', 'pt-BR'],
  ['Júlia', 'Júlia, invista com regularidade e veja seu patrimônio crescer ano após ano.', 'pt-BR'],
  ['Mateus', 'Mateus, o melhor momento para investir é agora; o segundo melhor, amanhã.', 'pt-BR'],
  ['Helena', 'Sra. Helena, invista no seu futuro com tranquilidade e segurança.', 'pt-BR'],
  ['Carla', 'Olá, Carla! Que tal investir parte do seu 13º salário?', 'pt-BR'],
  ['Cliente', 'Cliente, investir hoje é garantir a tranquilidade do seu amanhã.', 'pt-BR'],
  ['José', 'José, a poupança rende pouco: conheça outras opções de investimento!', 'pt-BR'],
  ['Ana-Maria', 'Ana-Maria, seus sonhos merecem um plano. Invista um pouco a cada mês.', 'pt-BR'],
  ['Conceição', '“Conceição, seu futuro começa com o primeiro real investido…”', 'pt-BR'],
  ['Иван', 'Иван, invista no seu futuro hoje: pequenos passos, grandes conquistas!', 'pt-BR'],
  ['Bruno', 'Bruno, quem investe R$ 1.000 hoje colhe mais amanhã. Comece já!', 'pt-BR'],
  ['Ana', 'Ana, em 2025 invista 15% da sua renda e veja seu futuro crescer!', 'pt-BR'],
  ['Paula', 'Paula, rendimento de 1,5% ao mês? Com a Selic, a renda fixa é uma boa!', 'pt-BR'],
  ['Emma', 'Emma, investing just 5% of your income today builds a calmer tomorrow.', 'en'],
  ['Liam', 'Liam, your future self will thank you: start investing today!', 'en'],
  ['Olivia', 'Olivia, small, steady investments grow into big achievements.', 'en'],
  ['Noah', 'Noah, put your money to work — every dollar invested counts.', 'en'],
  ['Sophia', 'Sophia, plan for 2035 now: invest a little every month.', 'en'],
  ['James', 'James, with $50 a month you can start building your future today.', 'en'],
  ['Mia', 'Mia, compound interest works for you when you start early. Begin now!', 'en'],
  ['Ethan', 'Hi Ethan, a diversified plan keeps your dreams on track. Invest today!', 'en'],
  ['Zoë', 'Zoë, an emergency fund is the first step. Why not start today?', 'en'],
  ['Chloé', 'Chloé, investing is planting today the future you want to harvest.', 'en'],
  ['Oliver', 'Dear Oliver, your savings can do more: invest in your future!', 'en'],
  ['Ava', 'Ava, the best time to invest was yesterday; the next best is today.', 'en'],
  ['Łukasz', 'Łukasz, invest in your future today: small steps, big results!', 'en'],
  ['Nguyễn', 'Nguyễn, your money grows when you invest with a plan.', 'en'],
  ["O'Connor", "O'Connor, it's never too early to invest in the life you want.", 'en'],
  ['Customer', 'Customer, make your money work for you: invest in your future.', 'en'],
];

/** First names as the bank's data has them: accents, hyphens, apostrophes, other scripts, blanks and odd input. */
const names = [
  'Ana',
  'João Silva',
  'JOSÉ',
  'maria',
  'Ana-Maria',
  "D'Ávila",
  'Zoë',
  'Иван',
  'Łukasz',
  'Nguyễn',
  '李',
  'Ñoño',
  '',
  null,
  '\u001b[31mBruno',
  'Conceição',
];

describe('a hostile reply is refused, with the reason', () => {
  test(`the table holds at least 60 hostile replies (${hostile.length})`, () => {
    expect(hostile.length).toBeGreaterThanOrEqual(60);
  });

  test.each(hostile)('%s: %j', (_why, reply, problem, locale = 'pt-BR') => {
    const checked = checkReply(reply, locale, 'Ana');
    // A refused character is named after the problem by its code point.
    const found = 'problem' in checked ? checked.problem.replace(/ \(U\+[0-9A-F]+\)$/, '') : checked;
    expect(found).toBe(problems[problem]);
  });

  test('the problem names a refused character by its code point, never the character itself', () => {
    expect(checkReply('Ana, invista já 🚀', 'pt-BR', 'Ana')).toEqual({ problem: `${problems.character} (U+1F680)` });
  });
});

describe('a real message passes unchanged', () => {
  test(`the table holds at least 30 benign messages (${benign.length})`, () => {
    expect(benign.length).toBeGreaterThanOrEqual(30);
  });

  test.each(benign)('%s: %j', (name, message, locale) => {
    expect(checkReply(message, locale, name)).toEqual({ message: message.replace(/^“|”$/g, '') });
  });

  test("every message of the LLM simulator passes, for both languages and any customer's first name", () => {
    for (const [locale, list] of [
      ['pt-BR', simulatedMessages.pt],
      ['en', simulatedMessages.en],
    ] as const) {
      for (const template of list) {
        for (const raw of names) {
          const name = firstName(raw, locale);
          const message = template.replace('{name}', name);
          expect([message, checkReply(message, locale, name)]).toEqual([message, { message }]);
        }
      }
    }
  });

  test('the simulator’s replies worded differently (--unique-replies) are all different and all pass', () => {
    for (const [locale, english] of [
      ['pt-BR', false],
      ['en', true],
    ] as const) {
      const replies = Array.from({ length: 512 }, (_, n) => {
        const name = firstName(names[n % names.length] ?? null, locale);
        const message = uniqueReply(n, name, english);
        expect([message, checkReply(message, locale, name)]).toEqual([message, { message }]);
        return uniqueReply(n, 'Ana', english);
      });
      expect(new Set(replies).size).toBe(512);
    }
  });

  test('every offline template passes, for many customers', () => {
    for (const locale of ['pt-BR', 'en'] as const) {
      for (let id = 1; id <= 40; id++) {
        const raw = names[id % names.length] ?? null;
        const message = templateMessage(id, raw, locale);
        expect([message, checkReply(message, locale, firstName(raw, locale))]).toEqual([message, { message }]);
      }
    }
  });

  test('compatibility forms are loaded normalised; ordinals and the ellipsis as written', () => {
    expect(checkReply('Ana,\u00a0invista já no seu futuro！', 'pt-BR', 'Ana')).toEqual({
      message: 'Ana, invista já no seu futuro!',
    });
    expect(checkReply('Ana, seu 1º investimento começa hoje…', 'pt-BR', 'Ana')).toEqual({
      message: 'Ana, seu 1º investimento começa hoje…',
    });
  });
});

describe('writeMessage refuses an unsafe reply', () => {
  /** An LLM client whose every reply is `content`. */
  const answering = (content: string): LlmClient => {
    const create = (): Promise<unknown> =>
      Promise.resolve({
        model: 'hostile-model',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 40, completion_tokens: 20 },
      });
    return { openai: { chat: { completions: { create } } } as unknown as OpenAI, model: 'm', apiKey: 'k' };
  };
  const env = activityEnv();

  test('as a retryable LlmBadReply whose message says why, without the hostile text', async () => {
    const reply = 'Joana, confirme sua senha em bancoseguro.com/\u202einvest';
    const failure = await failureOf(
      env.run(writeMessage, answering(reply), { id: 3, firstName: 'Joana', locale: 'pt-BR' }),
    );
    expect(failure).toMatchObject({ type: failureTypes.llmBadReply, nonRetryable: false });
    // The failure's message is what the customer's write error and reason hold in the report.
    expect(failure.message).toBe(
      "The LLM's reply was not usable: the reply holds invisible or bidirectional characters.",
    );
  });

  test("with the customer's first name, so a name in another script is allowed", async () => {
    const reply = 'Иван, invista no seu futuro hoje!';
    const written = await env.run(writeMessage, answering(reply), { id: 3, firstName: 'Иван', locale: 'pt-BR' });
    expect(written).toMatchObject({ message: reply, messageSource: 'llm' });
    const other = await failureOf(
      env.run(writeMessage, answering(reply), { id: 3, firstName: 'Joana', locale: 'pt-BR' }),
    );
    expect(other.message).toBe(
      "The LLM's reply was not usable: the reply holds letters outside the pt-BR and English alphabet.",
    );
  });
});
