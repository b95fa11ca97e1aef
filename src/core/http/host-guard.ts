// The Host header allow-list that defeats DNS rebinding: a page on evil.example that
// rebinds its name to 127.0.0.1 still sends `Host: evil.example`, and gets 421.
import { networkInterfaces } from 'node:os';
import { bracketHost as bracket } from '../host-port.js';

const ALWAYS = [
  'localhost',
  '127.0.0.1',
  '[::1]',
  'host.docker.internal',
  'host.containers.internal',
];

/** Host header values (`name:port`, lower-case) this listener accepts. */
export function allowedHostHeaders(
  bindHost: string,
  port: number,
  extra: readonly string[],
): Set<string> {
  const names = new Set<string>([...ALWAYS, ...extra.map((h) => bracket(h.toLowerCase()))]);
  if (bindHost === '0.0.0.0' || bindHost === '::') {
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) names.add(bracket(a.address.replace(/%.*$/, '').toLowerCase()));
    }
  } else {
    names.add(bracket(bindHost.toLowerCase()));
  }
  return new Set([...names].map((n) => `${n}:${port}`));
}
