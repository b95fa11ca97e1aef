// The token a request presents. `Authorization: Bearer <token>` is what our shim sends;
// `Basic` with the token as the password (any user name) is accepted the same way, so a
// URL's userinfo (`http://box1:TOKEN@host:7221/sign`, which curl turns into that header)
// works with shims that cannot add a header — such as the Rust ssh-agent-proxy's.
import { TokenRefused } from '../errors.js';

const TOKEN = /^[A-Za-z0-9._~+/=-]{1,200}$/;
const BASE64 = /^[A-Za-z0-9+/]{1,400}={0,2}$/;

const malformed = () =>
  new TokenRefused(
    'bad-token',
    'the Authorization header must be "Bearer <token>" or "Basic" with the token as the password',
  );

/** The presented token, or a 401 for any header that is not exactly one well-formed token. */
export function presentedToken(authorization: string): string {
  const m = /^([A-Za-z]+) +(\S+)$/.exec(authorization.trim());
  if (!m) throw malformed();
  const scheme = m[1]!.toLowerCase();
  const credentials = m[2]!;
  let token: string;
  if (scheme === 'bearer') {
    token = credentials;
  } else if (scheme === 'basic') {
    if (!BASE64.test(credentials)) throw malformed();
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw malformed();
    token = decoded.slice(colon + 1);
  } else {
    throw malformed();
  }
  if (!TOKEN.test(token)) throw malformed();
  return token;
}
