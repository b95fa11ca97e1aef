// Host and port as they are written in settings, URLs and Host headers: shared by the
// configuration (which parses them) and the HTTP front (which listens and checks Host).
import { isIP } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

/** A host as it appears in a URL or Host header: IPv6 literals in brackets. */
export function bracketHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** `host:port`: the inverse of parseAddress. */
export function formatHostPort(host: string, port: number): string {
  return `${bracketHost(host)}:${port}`;
}

export function parseAddress(raw: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw.trim());
  if (!m) throw new Error(`"${raw}" is not HOST:PORT (e.g. 127.0.0.1:7221 or [::1]:7221)`);
  const host = (m[1] ?? m[2]) as string;
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`port ${port} is out of range`);
  if (host !== 'localhost' && isIP(host) === 0)
    throw new Error(`"${host}" is not an IP address or localhost`);
  if (m[1] !== undefined && isIP(host) !== 6)
    throw new Error(`"${host}" in brackets is not an IPv6 address`);
  return { host, port };
}

/** Loopback names and addresses: the whole 127/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
