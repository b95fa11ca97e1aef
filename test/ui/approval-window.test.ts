// The approval window in headless Chromium, wired to a real proxy and a real ssh-agent.
// Requests come from real curl; signatures are checked with ssh-keygen.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { agentWithKey, commitObject } from '../helpers/fixtures.js';
import { run, waitFor, type Agent, type TestKey } from '../helpers/openssh.js';
import { http, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { openWindow, SHOTS, type UiHarness } from './harness.js';

let dir: string;
let agent: Agent;
let key: TestKey;

before(async () => {
  ({ dir, agent, key } = await agentWithKey('ed25519', 'ana-laptop'));
  mkdirSync(SHOTS, { recursive: true });
});

const commit = (subject: string) => commitObject(subject);

/** A real `curl` POST, as a sandbox would send it. */
function curlSign(url: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const c = spawn('curl', [
      '-sS',
      '-o',
      '-',
      '-w',
      '\n%{http_code}',
      '--data-binary',
      '@-',
      `${url}/sign`,
    ]);
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.on('close', () => {
      const i = out.lastIndexOf('\n');
      resolve({ status: Number(out.slice(i + 1)), body: out.slice(0, i) });
    });
    c.stdin.end(body);
  });
}

async function setup(
  colorScheme: 'light' | 'dark' = 'light',
): Promise<{ tp: TestProxy; h: UiHarness; page: Page }> {
  const tp = await startTestProxy({
    SSH_AGENT_PROXY_UPSTREAM: agent.sock,
    SSH_AGENT_PROXY_APPROVAL: 'prompt',
  });
  const h = await openWindow(tp.proxy, 'approval.html', { colorScheme });
  return { tp, h, page: h.page };
}

const pending = (tp: TestProxy) => tp.proxy.broker.queue().length;
const waitArmed = (page: Page) => page.waitForSelector('body[data-armed="true"]');

async function clickAt(page: Page, selector: string) {
  const box = (await page.locator(selector).boundingBox())!;
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}

describe('approval window', () => {
  it('shows who, what and which key; Allow once → the signature verifies with ssh-keygen', async () => {
    const { tp, h, page } = await setup();
    const msg = commit('Fix login race');
    const res = curlSign(tp.url, msg);
    await page.waitForSelector('#prompt:not([hidden])');
    assert.equal(await page.textContent('#headline'), 'Sign git commit "Fix login race"');
    const details = (await page.textContent('#details'))!;
    assert.match(details, /Ana Example <ana@example\.test>/);
    assert.ok(details.includes(key.fingerprint), 'the fingerprint is shown');
    assert.match(details, /ED25519 · ana-laptop@test/);
    assert.match(details, /From\s*local 127\.0\.0\.1/);
    assert.equal(await page.textContent('#position'), '1 of 1');
    assert.equal(h.shown, 1, 'the prompter showed the window');
    assert.equal(h.notifications.length, 1, 'and notified, since it was not visible');
    await waitArmed(page);
    await page.screenshot({ path: join(SHOTS, 'approval-light.png') });
    await page.click('#allow-once');
    const r = await res;
    assert.equal(r.status, 200, r.body);
    writeFileSync(join(dir, 'ui.sig'), r.body);
    const v = await run(
      'ssh-keygen',
      ['-Y', 'check-novalidate', '-n', 'git', '-s', join(dir, 'ui.sig')],
      { input: msg },
    );
    assert.equal(v.code, 0, v.stderr);
    await page.waitForSelector('#empty:not([hidden])');
  });

  it('Deny → 403; Esc → deny', async () => {
    const { tp, page } = await setup();
    const res = curlSign(tp.url, commit('Deny me'));
    await page.waitForSelector('#prompt:not([hidden])');
    await waitArmed(page);
    await page.click('#deny');
    const r = await res;
    assert.equal(r.status, 403);
    assert.equal(r.body, 'denied-by-user: the request was denied in the approval prompt\n');
    const esc = curlSign(tp.url, commit('Escape me'));
    await page.locator('#headline', { hasText: 'Sign git commit "Escape me"' }).waitFor();
    await page.keyboard.press('Escape');
    assert.equal((await esc).status, 403);
  });

  it('a click in the first 0.6 s does nothing, and Enter is no default', async () => {
    const { tp, page } = await setup();
    const res = http(`${tp.url}/sign`, { method: 'POST', body: commit('Too quick') });
    await page.waitForSelector('#prompt:not([hidden])');
    await clickAt(page, '#allow-once');
    await page.keyboard.press('Enter');
    assert.equal(pending(tp), 1, 'still waiting after an early click and Enter');
    assert.equal(await page.isDisabled('#allow-once'), true);
    await waitArmed(page);
    await page.keyboard.press('Enter');
    assert.equal(pending(tp), 1, 'Enter with nothing focused answers nothing');
    await page.click('#allow-once');
    assert.equal((await res).status, 200);
  });

  it('three queued → "1 of 3"; a double click cannot approve two; answer the listed ones together', async () => {
    const { tp, page } = await setup();
    const subjects = ['One', 'Two', 'Three'];
    const rs = new Map(
      subjects.map((s) => [s, http(`${tp.url}/sign`, { method: 'POST', body: commit(s) })]),
    );
    await waitFor(() => pending(tp) === 3, 5_000, 'three pending');
    await page.locator('#position', { hasText: '1 of 3' }).waitFor();
    // Which arrived first is not ours to decide: read what the window shows.
    const head = /"(\w+)"/.exec((await page.textContent('#headline'))!)![1]!;
    const others = subjects.filter((s) => s !== head);
    const groupText = (await page.textContent('#group'))!;
    assert.match(groupText, /Also waiting from this client with this key \(2\)/, groupText);
    for (const o of others) assert.ok(groupText.includes(`Sign git commit "${o}"`), groupText);
    await waitArmed(page);
    await page.screenshot({ path: join(SHOTS, 'approval-queue.png') });
    const box = (await page.locator('#allow-once').boundingBox())!;
    await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
    assert.equal((await rs.get(head)!).status, 200);
    await page.locator('#position', { hasText: '1 of 2' }).waitFor();
    assert.equal(
      pending(tp),
      2,
      'the second click of the double click did not approve the next one',
    );
    await waitArmed(page);
    await page.click('#deny-group');
    assert.deepEqual(
      await Promise.all(others.map(async (o) => (await rs.get(o)!).status)),
      [403, 403],
    );
  });

  it('"Allow these N once" covers exactly the requests listed on screen, never one that joined unseen', async () => {
    const { tp, page } = await setup();
    const sent = new Map<string, Promise<{ status: number }>>();
    const send = (s: string) =>
      sent.set(s, http(`${tp.url}/sign`, { method: 'POST', body: commit(s) }));
    for (let i = 1; i <= 12; i++) send(`c${i}`);
    await waitFor(() => pending(tp) === 12, 10_000, 'twelve pending');
    await page.locator('#position', { hasText: '1 of 12' }).waitFor();
    await waitArmed(page);
    const listed = await page.$$eval('#group-list li:not(.muted)', (els) =>
      els.map((e) => e.textContent),
    );
    assert.equal(listed.length, 8, 'eight are listed with the one shown');
    assert.equal(await page.textContent('#allow-group'), 'Allow these 9 once');
    const visible = new Set(
      [await page.textContent('#headline'), ...listed].map((t) => /"(\w+)"/.exec(t!)![1]!),
    );
    // One more joins the group just before the click: it is not on the list.
    send('late');
    await waitFor(() => pending(tp) === 13, 10_000, 'the late one pending');
    await page.click('#allow-group');
    await waitFor(() => pending(tp) === 4, 10_000, 'nine answered');
    const left = new Set(
      tp.proxy.broker
        .queue()
        .map((r) => (r.description.kind === 'commit' ? r.description.subject : '?')),
    );
    for (const v of visible) assert.ok(!left.has(v), `${v} was listed and answered`);
    assert.ok(left.has('late'), 'the request that joined unseen still waits');
    for (const v of visible) assert.equal((await sent.get(v)!).status, 200);
    tp.proxy.broker.answer({ ids: tp.proxy.broker.queue().map((r) => r.id) }, 'deny');
  });

  it('a change to the listed group disarms the buttons before anything can be clicked', async () => {
    const { tp, page } = await setup();
    const rs = ['a1', 'a2'].map((s) => http(`${tp.url}/sign`, { method: 'POST', body: commit(s) }));
    await waitFor(() => pending(tp) === 2, 5_000, 'two pending');
    await page.locator('#allow-group', { hasText: 'Allow these 2 once' }).waitFor();
    await waitArmed(page);
    // Record the armed state in the same task that redraws the list.
    const armedWhenListChanged = page.evaluate(`new Promise((resolve) => {
      new MutationObserver((_, obs) => {
        obs.disconnect();
        resolve(document.body.dataset.armed);
      }).observe(document.getElementById('group-list'), { childList: true });
    })`);
    const third = http(`${tp.url}/sign`, { method: 'POST', body: commit('a3') });
    assert.equal(await armedWhenListChanged, 'false');
    assert.equal(await page.textContent('#allow-group'), 'Allow these 3 once');
    await waitArmed(page);
    await page.click('#allow-group');
    assert.deepEqual(
      await Promise.all([...rs, third].map(async (r) => (await r).status)),
      [200, 200, 200],
    );
  });

  it('Allow for N minutes → the next request needs no prompt', async () => {
    const { tp, page, h } = await setup();
    const first = http(`${tp.url}/sign`, { method: 'POST', body: commit('Start of a rebase') });
    await page.waitForSelector('#prompt:not([hidden])');
    assert.equal(await page.textContent('#allow-grant'), 'Allow for 10 minutes');
    await waitArmed(page);
    await page.click('#allow-grant');
    assert.equal((await first).status, 200);
    const shownBefore = h.shown;
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await http(`${tp.url}/sign`, { method: 'POST', body: commit(`rebase ${i}`) })).status,
        200,
      );
    assert.equal(h.shown, shownBefore, 'no prompt while the grant lives');
    assert.equal(tp.proxy.broker.grants().length, 1);
  });

  it('dark theme, long names and subjects do not overflow', async () => {
    const { tp, page } = await setup('dark');
    const long = `Refactor ${'the-very-long-module-name/'.repeat(6)}and more words to wrap across lines`;
    const body = Buffer.from(
      `tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\nauthor ${'Bartholomew '.repeat(6)}<b@example.test> 1700000000 +0000\ncommitter B <b@example.test> 1700000000 +0000\n\n${long}\n`,
    );
    const res = http(`${tp.url}/sign`, { method: 'POST', body });
    await page.waitForSelector('#prompt:not([hidden])');
    await waitArmed(page);
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth > document.documentElement.clientWidth',
    );
    assert.equal(overflow, false, 'no horizontal overflow');
    assert.ok(await page.locator('#allow-grant').isVisible(), 'the actions stay in view');
    await page.screenshot({ path: join(SHOTS, 'approval-dark.png') });
    await page.click('#deny');
    assert.equal((await res).status, 403);
  });

  it('while the screen is locked and the option is on, requests are denied without a prompt', async () => {
    const { tp, h } = await setup();
    tp.proxy.applySettings({ denyWhenLocked: true });
    h.locked = true;
    const r = await http(`${tp.url}/sign`, { method: 'POST', body: commit('While away') });
    assert.equal(r.status, 403);
    assert.match(r.text, /^denied-screen-locked: /);
    assert.equal(h.shown, 0);
    assert.equal(tp.proxy.recent().at(-1)!.decidedBy, 'screen-locked');
  });
});
