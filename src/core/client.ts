// Who is asking: a client token's name, or `local <address>` for every anonymous caller
// from one address (the port is ignored, so all of them are one client).
export interface ClientInfo {
  name: string;
  address: string;
  /** Present when the request carried a valid token. */
  tokenName?: string;
}
