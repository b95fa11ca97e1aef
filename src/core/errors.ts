// One error type that carries what the HTTP answer will be. Every failure a client
// can see becomes exactly one line: `<code>: <sentence>`. The code is stable (the
// shim and scripts match on it); the sentence is for people.
import { displayText } from './display-text.js';

export class ProxyError extends Error {
  override name = 'ProxyError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. WWW-Authenticate or Allow. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  /** The one-line body sent to the client. */
  get line(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** A refused client token (401), naming the token when it was a known one, for the audit. */
export class TokenRefused extends ProxyError {
  constructor(
    code: string,
    message: string,
    readonly tokenName?: string,
  ) {
    super(401, code, message, { 'WWW-Authenticate': 'Bearer realm="ssh-agent-proxy"' });
  }
}

/** Strip anything that could break the one-line rule or a terminal (see display-text.ts). */
export function oneLine(text: string, max = 300): string {
  return displayText(text, max);
}

/**
 * Any thrown value as the answer a client gets: a ProxyError as it is; anything else is a
 * 500 whose cause goes to the log once, as one line (no payload, no stack), via `report`.
 */
export function asProxyError(err: unknown, report: (line: string) => void): ProxyError {
  if (err instanceof ProxyError) return err;
  report(oneLine(err instanceof Error ? `${err.name}: ${err.message}` : String(err)));
  return new ProxyError(500, 'internal-error', 'the proxy hit an unexpected error; see its log');
}
