// HTTP answers as Spring MVC writes them: the Content-Type negotiated from Accept for a String or a JSON answer, the
// Vary header of its CORS processing, and a body sent with its length.
import { type OutgoingHttpHeaders, type ServerResponse } from 'node:http';

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of (header ?? '*/*').split(',')) {
    const [essence = '', ...params] = part.split(';').map((s) => s.trim());
    const m = /^([\w.+*-]+)\/([\w.+*-]+)$/.exec(essence.toLowerCase());
    if (!m) continue;
    const q = params.map((p) => /^q=([\d.]+)$/i.exec(p)?.[1]).find((v) => v !== undefined);
    ranges.push({ type: m[1]!, subtype: m[2]!, q: q === undefined ? 1 : Number(q) });
  }
  return ranges.length > 0 ? ranges : [{ type: '*', subtype: '*', q: 1 }];
}

const suffixOf = (subtype: string): string | undefined => subtype.split('+')[1];
const specificity = (m: MediaRange): number =>
  m.type === '*' ? 0 : m.subtype === '*' ? 1 : m.subtype.startsWith('*+') ? 2 : 3;
const compatible = (a: MediaRange, b: MediaRange): boolean => {
  if (a.type !== '*' && b.type !== '*' && a.type !== b.type) return false;
  if (a.subtype === '*' || b.subtype === '*' || a.subtype === b.subtype) return true;
  const wildcardSuffix = (w: MediaRange, o: MediaRange) =>
    w.subtype.startsWith('*+') && (suffixOf(w.subtype) === o.subtype || suffixOf(w.subtype) === suffixOf(o.subtype));
  return wildcardSuffix(a, b) || wildcardSuffix(b, a);
};

const json: MediaRange = { type: 'application', subtype: 'json', q: 1 };
const plusJson: MediaRange = { type: 'application', subtype: '*+json', q: 1 };
/** What Spring can write a String as: StringHttpMessageConverter (text/plain, any type), then Jackson's types. */
const forStrings: MediaRange[] = [
  { type: 'text', subtype: 'plain', q: 1 },
  { type: '*', subtype: '*', q: 1 },
  json,
  plusJson,
];
const isJson = (m: MediaRange) => m.type === 'application' && (m.subtype === 'json' || suffixOf(m.subtype) === 'json');

/** Spring's content negotiation: the first concrete type compatible with Accept, by quality and specificity. */
function negotiate(accept: string | undefined, producible: MediaRange[]): MediaRange | undefined {
  const candidates: MediaRange[] = [];
  for (const wanted of parseAccept(accept)) {
    if (wanted.q <= 0) continue;
    for (const offered of producible) {
      if (compatible(wanted, offered)) {
        const specific = specificity(offered) > specificity(wanted) ? offered : wanted;
        candidates.push({ ...specific, q: wanted.q });
      }
    }
  }
  candidates.sort((a, b) => b.q - a.q || specificity(b) - specificity(a));
  for (const c of candidates) {
    if (specificity(c) === 3) return c;
    if (c.type === '*' || (c.type === 'application' && c.subtype === '*')) {
      return { type: 'application', subtype: 'octet-stream', q: c.q };
    }
  }
  return undefined;
}

/** The Content-Type of a String answer: text/plain unless Accept asks for another type (JSON types get no charset). */
export function stringType(accept: string | undefined): string {
  const m = negotiate(accept, forStrings) ?? forStrings[0]!;
  return isJson(m) ? `${m.type}/${m.subtype}` : `${m.type}/${m.subtype};charset=UTF-8`;
}

/** The Content-Type of a JSON answer, or undefined when Accept rules JSON out (Spring then fails with a 500). */
export function jsonType(accept: string | undefined): string | undefined {
  const m = negotiate(accept, [json, plusJson]);
  return m && isJson(m) ? `${m.type}/${m.subtype}` : undefined;
}

/** Spring's CORS processing adds these three Vary values (Tomcat sends three lines; fetch joins them like this). */
export const vary = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

export function send(res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { ...headers, 'content-length': bytes.length });
  res.end(bytes);
}
