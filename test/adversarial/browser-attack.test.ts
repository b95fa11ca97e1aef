// A real browser attack: headless Chromium loads pages from other origins (another local
// port, and a DNS-rebound name) that try fetch, a no-cors POST and a form POST against
// /sign and /publickey. No signature is made, nothing readable comes back, and the agent
// receives nothing.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import type { Logger } from '../../src/core/logger.js';
import { makeKey, onCleanup, startAgent, tempDir } from '../helpers/openssh.js';
import { http, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { startRecordingRelay, type RecordingRelay } from '../helpers/recording-relay.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../ui/harness.js';

let relay: RecordingRelay;
let tp: TestProxy;
let proxyPort: number;
const seen: string[] = [];
let browser: Browser;

const capture: Logger = {
  debug: () => {},
  info: (m) => void seen.push(m),
  warn: (m) => void seen.push(m),
  error: (m) => void seen.push(m),
};

function attackPage(target: string): string {
  return `<!doctype html><html><body>
<form id="f" method="POST" action="${target}/sign" enctype="text/plain" target="sink"><input name="tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b" value="x"></form>
<iframe name="sink"></iframe>
<script>
window.results = {};
(async () => {
  try { const r = await fetch('${target}/publickey'); window.results.publickey = 'READ:' + (await r.text()); }
  catch (e) { window.results.publickey = 'blocked'; }
  try { const r = await fetch('${target}/sign', { method: 'POST', body: 'attack', headers: { 'Content-Type': 'text/plain' } }); window.results.sign = 'READ:' + (await r.text()); }
  catch (e) { window.results.sign = 'blocked'; }
  try { const r = await fetch('${target}/sign', { method: 'POST', mode: 'no-cors', body: 'attack', headers: { 'Content-Type': 'text/plain' } }); window.results.noCors = r.type; }
  catch (e) { window.results.noCors = 'blocked'; }
  document.getElementById('f').submit();
  window.results.done = true;
})();
</script></body></html>`;
}

before(async () => {
  const dir = tempDir();
  const agent = await startAgent(dir);
  await agent.add(await makeKey(dir, 'ed25519'));
  relay = await startRecordingRelay(dir, agent.sock);
  tp = await startTestProxy({ SSH_AGENT_PROXY_UPSTREAM: relay.sock }, capture);
  proxyPort = tp.proxy.port();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // evil.test resolves to this machine, as a rebinding attacker's name would.
    args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP evil.test 127.0.0.1'],
  });
  onCleanup(() => browser.close());
});

async function runAttack(pageUrl: string) {
  const page = await browser.newPage();
  await page.goto(pageUrl);
  await page.waitForFunction('window.results && window.results.done === true', undefined, {
    timeout: 10_000,
  });
  await page.waitForTimeout(500); // let the form POST land
  const results = (await page.evaluate('window.results')) as Record<string, string>;
  await page.close();
  return results;
}

describe('a web page attacking the proxy', () => {
  it('from another local origin: nothing readable, no signature, the agent untouched', async () => {
    const attacker = createServer((_req, res) =>
      res
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end(attackPage(`http://127.0.0.1:${proxyPort}`)),
    );
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    onCleanup(() => attacker.close());
    const before = seen.length;
    const results = await runAttack(
      `http://127.0.0.1:${(attacker.address() as { port: number }).port}/`,
    );
    assert.equal(results.publickey, 'blocked');
    assert.equal(results.sign, 'blocked');
    assert.equal(results.noCors, 'opaque', 'a no-cors answer is opaque: nothing to read');
    const lines = seen.slice(before);
    assert.ok(
      lines.some((l) => /^POST \/sign .*status=403/.test(l)),
      `the proxy itself refused them: ${lines.join(' | ')}`,
    );
    assert.ok(
      lines.every((l) => !/status=200/.test(l)),
      'no request succeeded',
    );
    assert.equal(relay.received.length, 0, 'no message of any kind reached the agent');
  });

  it('after DNS rebinding (evil.test:P first served by the attacker, then by the proxy): refused', async () => {
    // The attacker's page is served from evil.test:P; then the attacker "rebinds" evil.test:P
    // to the proxy — here by stopping its server and starting a proxy on the same port, which
    // is exactly what the page sees when the name's address changes.
    const rebindPage = `<!doctype html><script>
      window.results = {};
      (async () => {
        // Until something other than the attacker answers. Between the attacker's server
        // closing and the proxy listening on its port a fetch fails: keep asking (bounded).
        for (let i = 0; i < 300; i++) {
          try { const r = await fetch('/publickey'); if ((await r.text()) !== 'attacker') break; } catch (e) { /* not yet rebound */ }
          await new Promise((res) => setTimeout(res, 50));
        }
        try { const r = await fetch('/publickey'); window.results.publickey = r.status + ':' + (await r.text()); } catch (e) { window.results.publickey = 'blocked'; }
        try { const r = await fetch('/sign', { method: 'POST', body: 'attack' }); window.results.sign = r.status + ':' + (await r.text()); } catch (e) { window.results.sign = 'blocked'; }
        window.results.done = true;
      })();
    </script>`;
    const attacker = createServer((req, res) => {
      res.writeHead(200, {
        'Content-Type': req.url === '/publickey' ? 'text/plain' : 'text/html',
        Connection: 'close',
      });
      res.end(req.url === '/publickey' ? 'attacker' : rebindPage);
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    const port = (attacker.address() as { port: number }).port;
    const page = await browser.newPage();
    await page.goto(`http://evil.test:${port}/`);
    attacker.closeAllConnections();
    await new Promise<void>((r) => attacker.close(() => r()));
    const before = seen.length;
    const rebound = await startTestProxy(
      { SSH_AGENT_PROXY_UPSTREAM: relay.sock, SSH_AGENT_PROXY_ADDR: `127.0.0.1:${port}` },
      capture,
    );
    await page.waitForFunction('window.results && window.results.done === true', undefined, {
      timeout: 15_000,
    });
    const results = (await page.evaluate('window.results')) as Record<string, string>;
    await page.close();
    await rebound.proxy.close(100);
    const lines = seen.slice(before);
    assert.ok(lines.length >= 2, `the requests reached the proxy: ${JSON.stringify(results)}`);
    assert.ok(
      lines.every((l) => /status=(403|421)/.test(l)),
      lines.join(' | '),
    );
    for (const k of ['publickey', 'sign'])
      assert.doesNotMatch(results[k] ?? '', /ssh-ed25519|BEGIN SSH SIGNATURE/, k);
    assert.match(results.sign ?? '', /^403:browser-refused|^421:bad-host/);
    assert.equal(relay.received.length, 0);
  });

  it('a real client still signs afterwards', async () => {
    assert.equal((await http(`${tp.url}/sign`, { method: 'POST', body: 'legit' })).status, 200);
  });
});
