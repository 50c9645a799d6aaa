// The bank API client: GET and PUT /users/{id}, every way they can go wrong mapped to a retryable or final failure.
import type { ApplicationFailure } from '@temporalio/common';
import { log } from '@temporalio/activity';
import { parseCustomer, type Customer } from '../customer';
import { failureTypes } from '../failures';
import { newsIcon, newsOf, withMessage } from '../personalize';
import { activityFailure } from './failure';
import { exchange, HttpExchangeError, retryAfterMs, type HttpAnswer } from './http';
import { httpSpan } from '../telemetry/spans';

/** Below the activities' start-to-close timeout, so a hung API fails the attempt and Temporal retries it. */
export const apiRequestTimeoutMs = 10_000;
/** A customer record is a few kilobytes; anything far larger is refused instead of held in memory. */
export const maxResponseBytes = 1024 * 1024;
const retryable = (type: string, message: string, nextRetryDelayMs?: number): ApplicationFailure =>
  activityFailure(type, message, { nextRetryDelayMs });
const final = (type: string, message: string): ApplicationFailure =>
  activityFailure(type, message, { nonRetryable: true });

/** One request to the bank API, as a span of its own when tracing is on. */
const request = (method: 'GET' | 'PUT', url: string, what: string, body?: Customer): Promise<Customer> =>
  httpSpan(`${method} /users/{id}`, { 'http.request.method': method, 'url.full': url }, () =>
    send(method, url, what, body),
  );

/** One request to the bank API; maps every way it can go wrong to a retryable or final failure. */
async function send(method: 'GET' | 'PUT', url: string, what: string, body?: Customer): Promise<Customer> {
  let res: HttpAnswer;
  try {
    res = await exchange(url, {
      method,
      headers: body
        ? { 'content-type': 'application/json', accept: 'application/json' }
        : { accept: 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
      timeoutMs: apiRequestTimeoutMs,
      maxBytes: maxResponseBytes,
    });
  } catch (err) {
    if (!(err instanceof HttpExchangeError)) throw err;
    if (err.problem === 'no answer') {
      throw retryable(failureTypes.apiUnavailable, `${what}: the bank API did not answer (${err.message}).`);
    }
    if (err.problem === 'broke off') {
      throw retryable(failureTypes.apiUnavailable, `${what}: the bank API's answer broke off (${err.message}).`);
    }
    throw final(
      failureTypes.apiBadData,
      err.declaredBytes === undefined
        ? `${what}: the bank API's answer is over the ${maxResponseBytes}-byte limit.`
        : `${what}: the bank API sent ${err.declaredBytes} bytes, over the ${maxResponseBytes}-byte limit.`,
    );
  }
  const text = res.body;
  const said = text.trim().slice(0, 200);
  if (res.status === 404)
    throw final(failureTypes.customerNotFound, `${what}: the bank API answered 404 ${said}`.trim());
  if (res.status === 429) {
    const delay = retryAfterMs(res.header('retry-after'));
    throw retryable(
      failureTypes.apiRateLimited,
      `${what}: the bank API is rate limiting (429), retry in ${delay} ms.`,
      delay,
    );
  }
  if (res.status === 408) throw retryable(failureTypes.apiUnavailable, `${what}: the bank API timed out (408).`);
  if (res.status >= 400 && res.status < 500)
    throw final(failureTypes.apiRejected, `${what}: the bank API refused it (${res.status} ${said}).`);
  if (res.status >= 500)
    throw retryable(failureTypes.apiServerError, `${what}: the bank API answered ${res.status} ${said}`.trim());
  // A redirect is not followed (a loop, or a proxy sending everyone elsewhere): asked again, like no answer.
  if (res.status < 200 || res.status >= 300)
    throw retryable(failureTypes.apiUnavailable, `${what}: the bank API answered ${res.status} ${said}`.trim());
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // A body cut short by the network reads as broken JSON too: asked again, like any answer that broke off.
    throw retryable(failureTypes.apiUnavailable, `${what}: the bank API sent a body that is not JSON.`);
  }
  const parsed = parseCustomer(json);
  if ('problem' in parsed) {
    throw final(failureTypes.apiBadData, `${what}: the bank API's answer is not an SDW2023 user (${parsed.problem}).`);
  }
  return parsed.customer;
}

const userUrl = (apiUrl: string, id: number): string => `${apiUrl}/users/${id}`;

/** A probe waits this long for an answer: an API that takes longer is not serving anyone. */
const probeTimeoutMs = 5_000;

/**
 * Whether the bank API answers at all: one GET /users/{id}, and any answer but a 5xx, 408 or 429 (a 404 too) means
 * it is serving requests. Never throws.
 */
export async function bankApiAnswers(apiUrl: string, id: number): Promise<boolean> {
  try {
    const res = await exchange(userUrl(apiUrl, id), {
      method: 'GET',
      headers: { accept: 'application/json' },
      timeoutMs: probeTimeoutMs,
      maxBytes: maxResponseBytes,
    });
    return res.status < 500 && res.status !== 408 && res.status !== 429;
  } catch {
    return false;
  }
}

/** GET /users/{id}: the customer as the bank holds it. */
export async function fetchCustomer(apiUrl: string, id: number): Promise<Customer> {
  const customer = await request('GET', userUrl(apiUrl, id), `GET customer ${id}`);
  if (customer.id !== id) {
    throw final(failureTypes.apiBadData, `GET customer ${id}: the bank API answered with customer ${customer.id}.`);
  }
  return customer;
}

export interface LoadResult {
  customer: Customer;
  /** False when the message was already in the customer's news: a retried or repeated load changes nothing. */
  appended: boolean;
}

/** The GET of a load: the customer as the bank has it right before the PUT. */
export const customerBeforeLoad = (apiUrl: string, id: number): Promise<Customer> =>
  request('GET', userUrl(apiUrl, id), `GET customer ${id} before load`);

/**
 * Appends the message to the customer's news with GET then PUT (PUT replaces the whole user), unless a news item
 * with this very message is already there. The PUT sends back every field the GET returned, known to the schema or
 * not: the load changes nothing but `news`. `asked`: the GET, when the caller sent it already.
 */
export async function loadCustomer(
  apiUrl: string,
  id: number,
  message: string,
  asked?: Promise<Customer>,
): Promise<LoadResult> {
  const current = await (asked ?? customerBeforeLoad(apiUrl, id));
  if (newsOf(current).some((item) => item.description === message)) {
    log.info('Message already in the customer news; nothing to load', { customerId: id });
    return { customer: current, appended: false };
  }
  const saved = await request(
    'PUT',
    userUrl(apiUrl, id),
    `PUT customer ${id}`,
    withMessage(current, message, newsIcon),
  );
  return { customer: saved, appended: true };
}
