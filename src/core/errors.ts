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

/** Strip anything that could break the one-line rule or a terminal (see display-text.ts). */
export function oneLine(text: string, max = 300): string {
  return displayText(text, max);
}
