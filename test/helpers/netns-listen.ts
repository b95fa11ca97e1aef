// Run inside a fresh network namespace (unshare -n) by test/integration/listener.test.ts:
// listens on 192.0.2.1 before that address exists, then adds it, and reports each step.
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { listen } from '../../src/core/http/listener.js';

const say = (s: string) => process.stdout.write(`${s}\n`);
const log = { debug: () => {}, info: say, warn: say, error: say };

function get(host: string, port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

const main = async () => {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const l = await listen((_q, r) => r.end('ok'), { host: '192.0.2.1', port: 7221 }, log, {
    headersTimeoutMs: 5000,
    maxConnections: 64,
    idleTimeoutMs: 10_000,
    retryMs: 200,
  });
  say(
    `serving ${l.current().host}:${l.current().port}; 127.0.0.1 answers ${await get('127.0.0.1', 7221)}`,
  );
  const switched = new Promise<void>((r) => l.onChange(r));
  execFileSync('ip', ['addr', 'add', '192.0.2.1/32', 'dev', 'lo']);
  await switched;
  say(
    `serving ${l.current().host}:${l.current().port}; 192.0.2.1 answers ${await get('192.0.2.1', 7221)}`,
  );
  l.close();
};
void main();
