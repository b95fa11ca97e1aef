// The activity and settings window in headless Chromium, wired to a real core: what the
// person changes there reaches the proxy, and what the proxy does shows up there.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentWithKey, commitObject } from '../helpers/fixtures.js';
import type { Agent, TestKey } from '../helpers/openssh.js';
import { http, startTestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/openssh.js';
import { auditFileSink } from '../../src/log/audit-file.js';
import { openWindow, SHOTS } from './harness.js';

let agent: Agent;
let key: TestKey;

before(async () => {
  ({ agent, key } = await agentWithKey('ed25519', 'ana-laptop'));
  mkdirSync(SHOTS, { recursive: true });
});

const commit = (subject: string) =>
  commitObject(subject, { author: 'Ana <ana@example.test>', parent: null });

describe('activity and settings window', () => {
  it('shows status, recent activity and grants; a grant can be revoked there', async () => {
    const tp = await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
    });
    const h = await openWindow(tp.proxy, 'activity.html');
    const { page } = h;
    // Approve one request with a grant through the same handler the approval window uses.
    const first = http(`${tp.url}/sign`, { method: 'POST', body: commit('Add the activity view') });
    await page.locator('#status', { hasText: 'Waiting1' }).waitFor();
    const [req] = tp.proxy.broker.queue();
    await h.handlers['approval:answer'](
      { target: { id: req!.id }, answer: 'allow-for-grant' },
      { senderId: 1 },
    );
    assert.equal((await first).status, 200);
    await http(`${tp.url}/sign`, { method: 'POST', body: commit('Second, under the grant') });
    await page.locator('#records tbody tr').nth(2).waitFor();
    const rows = await page.locator('#records tbody tr').allTextContents();
    // Newest first: the grant used, the request whose answer gave it, the grant given.
    const grant = /grant (#[0-9a-f]{8})/.exec(rows[0]!)?.[1];
    assert.ok(grant, rows[0]);
    assert.match(
      rows[0]!,
      /git commit "Second, under the grant".*allowed by grant #[0-9a-f]{8}.*200 ok/,
    );
    assert.match(
      rows[1]!,
      new RegExp(
        `git commit "Add the activity view".*allowed by person: allow for a while \\(gave grant ${grant}\\)`,
      ),
    );
    assert.match(
      rows[2]!,
      new RegExp(
        `grant ${grant} given by the answer "allow for \\d+ minutes": local 127\\.0\\.0\\.1 .* until .*grant-given`,
      ),
    );
    assert.match((await page.textContent('#status'))!, /reachable · 1 key/);
    assert.match((await page.textContent('#grants'))!, /local 127\.0\.0\.1.*SHA256:/);
    await page.screenshot({ path: join(SHOTS, 'activity-light.png'), fullPage: true });
    await page.click('#grants button:has-text("Revoke")');
    await page.locator('#no-grants:not([hidden])').waitFor();
    assert.equal(tp.proxy.broker.grants().length, 0);
    // Pause from the window: the proxy refuses.
    await page.click('#pause');
    await page.locator('#pause', { hasText: 'Resume signing' }).waitFor();
    assert.equal(
      (await http(`${tp.url}/sign`, { method: 'POST', body: commit('paused') })).status,
      503,
    );
    await page.click('#pause');
    await page.locator('#pause', { hasText: 'Pause signing' }).waitFor();
    assert.equal(tp.proxy.broker.paused, false);
  });

  it('names the program the host saw, and the sandbox’s own claim marked as such', async () => {
    // An earlier run's record, as the audit file holds it (the program found then).
    const earlier = {
      time: new Date(Date.now() - 60_000).toISOString(),
      id: 'rec-1',
      client: 'local 127.0.0.1',
      program: 'git (pid 4242) ← bash ← kitty; exe /usr/bin/git; started 123',
      claim: null,
      remote: '127.0.0.1',
      key: key.fingerprint,
      namespace: 'git',
      what: 'git commit "Earlier"',
      decision: 'allowed' as const,
      decidedBy: 'person',
      status: 200,
      outcome: 'ok',
      ms: 5,
    };
    const tp = await startTestProxy(
      { SSH_AGENT_PROXY_UPSTREAM: agent.sock, SSH_AGENT_PROXY_PROGRAM_LOOKUP: 'false' },
      undefined,
      { history: [earlier] },
    );
    const { page } = await openWindow(tp.proxy, 'activity.html');
    const signed = await http(`${tp.url}/sign`, {
      method: 'POST',
      headers: { 'X-SSH-Agent-Proxy-Caller': 'git commit -S' },
      body: commit('Claimed'),
    });
    assert.equal(signed.status, 200);
    await page.locator('#records tbody tr').nth(1).waitFor();
    const rows = page.locator('#records tbody tr');
    // Newest first: the claimed request, then the earlier one with its program.
    assert.equal(
      await rows.nth(0).locator('.claim').textContent(),
      'sandbox says: git commit -S (its own claim, unverified)',
    );
    assert.equal(await rows.nth(0).locator('.program').count(), 0, 'no program was seen');
    assert.equal(
      await rows.nth(1).locator('.program').textContent(),
      'git (pid 4242) ← bash ← kitty; exe /usr/bin/git; started 123',
    );
    assert.equal(await rows.nth(1).locator('.claim').count(), 0);
  });

  it('says when the audit log cannot be written (nothing is signed), and when it can again', async () => {
    const cfg = tempDir('sap-cfg-');
    const tp = await startTestProxy(
      {
        SSH_AGENT_PROXY_UPSTREAM: agent.sock,
        SSH_AGENT_PROXY_APPROVAL: 'allow',
        SSH_AGENT_PROXY_CONFIG_DIR: cfg,
      },
      undefined,
      { audit: auditFileSink(cfg, { maxBytes: 1 << 20, keep: 1 }) },
    );
    const { page } = await openWindow(tp.proxy, 'activity.html');
    await page.locator('#status', { hasText: 'Audit logwritten' }).waitFor();
    const logs = join(cfg, 'logs');
    rmSync(logs, { recursive: true, force: true });
    writeFileSync(logs, 'not a folder');
    const refused = await http(`${tp.url}/sign`, { method: 'POST', body: commit('unrecorded') });
    assert.equal(refused.status, 503, refused.text);
    await page
      .locator('#status .bad', { hasText: 'cannot be written: signing and logins refused' })
      .waitFor();
    rmSync(logs);
    mkdirSync(logs);
    const ok = await http(`${tp.url}/sign`, { method: 'POST', body: commit('recorded') });
    assert.equal(ok.status, 200, ok.text);
    await page.locator('#status', { hasText: 'Audit logwritten' }).waitFor();
    await page.locator('#records tbody tr', { hasText: 'audit-resumed' }).waitFor();
  });

  it('settings changes reach the core; a bad value is refused naming the setting', async () => {
    const tp = await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
    });
    const h = await openWindow(tp.proxy, 'activity.html', { query: '?tab=settings' });
    const { page } = h;
    await page.locator('#agents label', { hasText: 'Configured — reachable, 1 key' }).waitFor();
    await page.selectOption('#s-approval', 'allow');
    await page.fill('#s-grantMinutes', '25');
    await page.fill('#s-approvalTimeoutSeconds', '90');
    await page.check('#s-startAtLogin');
    await page.fill('#s-namespaces', 'git, file');
    await page.click('#save');
    await page.locator('#settings-result', { hasText: 'Saved' }).waitFor();
    assert.equal(tp.proxy.broker.policy, 'allow');
    assert.equal(tp.proxy.broker.grantMs, 25 * 60_000);
    assert.deepEqual(tp.proxy.config.namespaces, ['git', 'file']);
    assert.equal(h.loginItem.on, true);
    const saved = JSON.parse(readFileSync(join(tp.configDir, 'settings.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(saved.approval, 'allow');
    assert.equal(saved.grantMinutes, '25');
    // Policy allow now: a request signs without a prompt, in a namespace just allowed.
    assert.equal(
      (await http(`${tp.url}/sign?namespace=file`, { method: 'POST', body: 'x' })).status,
      200,
    );
    await page.fill('#s-addr', 'not-an-address');
    await page.click('#save');
    await page.locator('#settings-result.error').waitFor();
    assert.match(
      (await page.textContent('#settings-result'))!,
      /settings\.json "addr": "not-an-address" is not HOST:PORT/,
    );
    await page.fill('#s-addr', '127.0.0.1:7300');
    await page.click('#save');
    await page.locator('#settings-result', { hasText: 'Saved. After a restart: addr.' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'settings-light.png'), fullPage: true });
  });

  it('tokens: create shows the token once with a copy button; the token works; revoke stops it', async () => {
    const tp = await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'allow',
    });
    const h = await openWindow(tp.proxy, 'activity.html', {
      query: '?tab=tokens',
      colorScheme: 'dark',
    });
    const { page } = h;
    await page.fill('#t-name', 'devcontainer');
    await page.fill('#t-keys', key.fingerprint);
    await page.check('#t-gitOnly');
    await page.click('#create-token');
    await page.locator('#new-token:not([hidden])').waitFor();
    const token = (await page.textContent('#new-token-value'))!;
    assert.match(token, /^sap_/);
    await page.click('#copy-token');
    assert.deepEqual(h.clipboard, [token]);
    await page.locator('#token-list tbody tr', { hasText: 'devcontainer' }).waitFor();
    assert.match((await page.textContent('#token-list'))!, /git objects only/);
    await page.screenshot({ path: join(SHOTS, 'tokens-dark.png'), fullPage: true });
    assert.equal(
      (await http(`${tp.url}/sign`, { method: 'POST', body: commit('with token') })).status,
      401,
    );
    const auth = { Authorization: `Bearer ${token}` };
    assert.equal(
      (await http(`${tp.url}/sign`, { method: 'POST', body: commit('with token'), headers: auth }))
        .status,
      200,
    );
    await page.click('#hide-token');
    assert.equal(await page.textContent('#new-token-value'), '', 'the secret leaves the page');
    await page.click('#token-list button:has-text("Revoke")');
    await page.locator('#token-list tbody tr', { hasText: 'revoked' }).waitFor();
    assert.equal(
      (
        await http(`${tp.url}/sign`, {
          method: 'POST',
          body: commit('after revoke'),
          headers: auth,
        })
      ).status,
      401,
    );
    // The token's life is in the activity, by its id beside its name.
    const life = page.locator('#records tbody tr', { hasText: 'token-revoked' });
    await life.waitFor({ state: 'attached' });
    const id = /devcontainer (#[0-9a-f]{8})/.exec((await life.textContent())!)?.[1];
    assert.ok(id);
    assert.match(
      (await page.locator('#records tbody tr', { hasText: 'token-created' }).textContent())!,
      new RegExp(`devcontainer ${id}.*token created in the tray: keys SHA256:`),
    );
    // A bad name is refused with a reason.
    await page.fill('#t-name', 'bad name');
    await page.click('#create-token');
    await page.locator('#token-result.error', { hasText: 'not a valid token name' }).waitFor();
  });

  it('container setup: the exact lines for a token and a runtime', async () => {
    const tp = await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'allow',
    });
    tp.proxy.tokens.create('box7');
    const h = await openWindow(tp.proxy, 'activity.html', { query: '?tab=setup' });
    const { page } = h;
    await page.locator('#setup-lines', { hasText: 'SSH_AGENT_PROXY_URL' }).waitFor();
    await page.selectOption('#setup-runtime', 'podman');
    await page.locator('#setup-lines', { hasText: 'host.containers.internal' }).waitFor();
    const lines = (await page.textContent('#setup-lines'))!;
    assert.ok(
      lines.includes(
        `curl -fsS http://host.containers.internal:${tp.proxy.port()}/shim -o /usr/local/bin/ssh-agent-proxy-sign`,
      ),
    );
    assert.ok(
      lines.includes('git config --global gpg.ssh.program /usr/local/bin/ssh-agent-proxy-sign'),
    );
    assert.match(lines, /SSH_AGENT_PROXY_TOKEN=.*the token "box7"/);
    await page.click('#copy-setup');
    assert.equal(h.clipboard[0], lines);
    await page.screenshot({ path: join(SHOTS, 'setup-light.png'), fullPage: true });
  });
});
