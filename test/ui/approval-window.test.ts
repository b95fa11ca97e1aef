// The approval window in headless Chromium, wired to a real proxy and a real ssh-agent.
// Requests come from real curl; signatures are checked with ssh-keygen. The page's clock
// is held still (timers run only when a test moves it), and the proxy's clock reads one
// fixed time, so nothing here depends on how fast the machine is, and the screenshots the
// README shows (docs/screenshots) come out the same on every run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { realClock, type Clock } from '../../src/core/clock.js';
import type { SshLoginDescription } from '../../src/core/approval/describe.js';
import { APPROVAL_HEIGHT, approvalContentHeight } from '../../src/main/window-geometry.js';
import { commitObject } from '../helpers/fixtures.js';
import { run, startAgent, tempDir, waitFor, type Agent, type TestKey } from '../helpers/openssh.js';
import { http, ROOT, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { fixedEd25519Key } from './fixed-key.js';
import { writeScreenshot } from './screenshot-file.js';
import { openWindow, PAGE_TIME, WORK_AREA, type UiHarness } from './harness.js';
import { CONTRAST_SCRIPT, type ContrastReport } from './contrast.js';

/** The renderer's arming delay (src/renderer/approval.ts); the tests below pin it. */
const ARM_MS = 600;
/** Written by these tests, shown in the README. */
const DOCS_SHOTS = join(ROOT, 'docs', 'screenshots');

let dir: string;
let agent: Agent;
let key: TestKey;

before(async () => {
  dir = tempDir('sap-ui-');
  agent = await startAgent(dir);
  key = await fixedEd25519Key(dir, 'ana-laptop', 'ana-laptop');
  await agent.add(key);
  mkdirSync(DOCS_SHOTS, { recursive: true });
});

const commit = (subject: string) => commitObject(subject);

/** Main's clock for these tests: one fixed time, so countdowns read the same every run. */
const fixedClock = (): Clock => ({ now: () => PAGE_TIME, setTimer: realClock.setTimer });

/** A real `curl` POST, as a sandbox would send it; `pid` to hang up by. */
function curlSign(
  url: string,
  body: Buffer,
  headers: string[] = [],
): { pid: number; result: Promise<{ status: number; body: string }> } {
  const c = spawn('curl', [
    '-sS',
    '-o',
    '-',
    '-w',
    '\n%{http_code}',
    ...headers.flatMap((h) => ['-H', h]),
    '--data-binary',
    '@-',
    `${url}/sign`,
  ]);
  const result = new Promise<{ status: number; body: string }>((resolve) => {
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.on('close', () => {
      const i = out.lastIndexOf('\n');
      resolve({ status: Number(out.slice(i + 1)), body: out.slice(0, i) });
    });
  });
  c.stdin.end(body);
  return { pid: c.pid!, result };
}

async function setup(
  colorScheme: 'light' | 'dark' = 'light',
  clock: Clock = fixedClock(),
  env: Record<string, string> = {},
): Promise<{ tp: TestProxy; h: UiHarness; page: Page }> {
  // No program lookup: its outcome (found, or past its budget on a busy machine) would
  // split groups by program and put changing pids in the screenshots. The Program lines
  // are tested in request-summary's and peer-attribution's tests.
  const tp = await startTestProxy(
    {
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_PROGRAM_LOOKUP: 'false',
      ...env,
    },
    undefined,
    { clock },
  );
  const h = await openWindow(tp.proxy, 'approval.html', { colorScheme, holdClock: true });
  return { tp, h, page: h.page };
}

const pending = (tp: TestProxy) => tp.proxy.broker.queue().length;
const armed = async (page: Page) => (await page.getAttribute('body', 'data-armed')) === 'true';

/** Move the page's clock past the arming delay, as often as it takes a redraw to land. */
async function arm(page: Page): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await page.clock.runFor(ARM_MS);
    if (await armed(page)) return;
  }
  assert.fail('the buttons never armed');
}

/** Every earlier call from the page to main has been handled once this returns (one channel, in order). */
const flushIpc = (page: Page) =>
  page.evaluate(`window.sshAgentProxy.invoke('approval:queue').then(() => true)`);

async function clickAt(page: Page, selector: string) {
  const box = (await page.locator(selector).boundingBox())!;
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}

/** Until the page has the height it asked for, and asks for no other. */
async function settle(h: UiHarness): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await flushIpc(h.page);
    await h.fitting;
    await flushIpc(h.page); // a resize may have made the page measure again
    const want = approvalContentHeight(h.fits.at(-1)!, WORK_AREA);
    if (h.page.viewportSize()!.height === want) return;
  }
  assert.fail(`the window never settled at its content's height: ${h.fits.join(', ')}`);
}

async function shot(h: UiHarness, name: string) {
  const page = h.page;
  await settle(h);
  await writeScreenshot(page, join(DOCS_SHOTS, `${name}.png`));
}

/** A token named as a sandbox would be, and the header that carries it. */
function tokenHeader(tp: TestProxy, name = 'devcontainer-api'): string {
  return `Authorization: Bearer ${tp.proxy.tokens.create(name)}`;
}

describe('approval window', () => {
  it('a commit: who, what and which key lead, large; the rest below; Allow once → ssh-keygen verifies it; then the window hides', async () => {
    const { tp, h, page } = await setup();
    const msg = commit('Fix login race');
    const req = curlSign(tp.url, msg, [tokenHeader(tp)]);
    await page.waitForSelector('#prompt:not([hidden])');
    assert.equal(await page.textContent('#kind'), 'Commit signature');
    assert.equal(await page.textContent('#headline'), 'Sign commit "Fix login race"?');
    assert.equal(await page.textContent('#client'), 'devcontainer-api');
    assert.equal(await page.textContent('#client-note'), '(token, from 127.0.0.1)');
    assert.equal(await page.textContent('#key-name'), 'ana-laptop');
    assert.equal(await page.textContent('#key-type'), 'ED25519');
    const details = (await page.textContent('#details'))!;
    assert.match(details, /AuthorAna Example <ana@example\.test>/);
    assert.match(details, /Tree4b825dc642/);
    assert.match(details, /NamespaceGit/i);
    // The key's fingerprint: shortened on one line, whole on hover and on click.
    const fp = page.locator('#details dd.fp');
    assert.equal(await fp.getAttribute('title'), key.fingerprint);
    const short = (await fp.textContent())!;
    assert.ok(short.length < key.fingerprint.length && short.includes('…'), short);
    assert.ok(key.fingerprint.startsWith(short.split('…')[0]!));
    assert.ok(key.fingerprint.endsWith(short.split('…')[1]!));
    // The three facts are larger than the details.
    const size = (sel: string) =>
      page.evaluate(
        `parseFloat(getComputedStyle(document.querySelector(${JSON.stringify(sel)})).fontSize)`,
      ) as Promise<number>;
    const detailSize = await size('#details dd');
    for (const sel of ['#client', '#headline', '#key-name'])
      assert.ok((await size(sel)) > detailSize, `${sel} is larger than the details`);
    assert.equal(await page.textContent('#position'), '1 of 1');
    assert.equal(h.shown, 1, 'the prompter showed the window');
    assert.deepEqual(h.notifications, [
      'Sign commit "Fix login race"?: Asked by devcontainer-api · key ana-laptop',
    ]);
    await arm(page);
    await shot(h, 'approval-commit');
    await page.click('#allow-once');
    const r = await req.result;
    assert.equal(r.status, 200, r.body);
    writeFileSync(join(dir, 'ui.sig'), r.body);
    const v = await run(
      'ssh-keygen',
      ['-Y', 'check-novalidate', '-n', 'git', '-s', join(dir, 'ui.sig')],
      { input: msg },
    );
    assert.equal(v.code, 0, v.stderr);
    await page.waitForSelector('#empty:not([hidden])');
    assert.equal(h.visible, false, 'nothing waits, so the window is hidden');
    assert.equal(h.hidden, 1);
    await shot(h, 'approval-empty');
  });

  it('an SSH login reads as one: "Log in to github.com as git?", its host key on one line, shortened, below', async () => {
    const { tp, h, page } = await setup();
    const hostKey = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
    const login: SshLoginDescription = {
      kind: 'ssh-auth',
      user: 'git',
      algorithm: 'ssh-ed25519',
      destination: 'known',
      host: 'github.com',
      hostKey,
      forwarded: false,
      size: 120,
      sha256: 'ab'.repeat(32),
    };
    // As the agent endpoint asks the broker (that path has its own tests with a real sshd).
    const decision = tp.proxy.broker.decide(
      { id: 'token:devcontainer-api', name: 'devcontainer-api', address: '172.17.0.2' },
      {
        fingerprint: key.fingerprint,
        type: 'ssh-ed25519',
        comment: 'ana-laptop',
        label: 'ED25519',
      },
      `ssh-login:github.com`,
      login,
    );
    await page.waitForSelector('#prompt:not([hidden])');
    assert.equal(await page.textContent('#kind'), 'SSH login');
    assert.equal(await page.textContent('#headline'), 'Log in to github.com as git?');
    assert.deepEqual(h.notifications, [
      'Log in to github.com as git?: Asked by devcontainer-api · key ana-laptop',
    ]);
    const facts = (await page.textContent('.facts'))!;
    assert.ok(!facts.includes('SHA256:'), `no fingerprint in the headline area: ${facts}`);
    assert.equal(
      await page.textContent('#allow-grant'),
      'Allow devcontainer-api to log in to github.com with this key for 10 minutes',
    );
    // Host key: once, shortened, never broken inside; whole on hover and on click.
    const hk = page.locator(`#details dd.fp[title="${hostKey}"]`);
    assert.equal(await hk.count(), 1, 'the host key is listed once');
    assert.equal(await hk.getAttribute('title'), hostKey);
    // Found by its title, which holds the whole fingerprint, shortened or expanded.
    const hkSel = `#details dd.fp[title=${JSON.stringify(hostKey)}]`;
    const oneLine = () =>
      page.evaluate(`(() => {
        const e = document.querySelector(${JSON.stringify(hkSel)});
        const cs = getComputedStyle(e);
        return cs.whiteSpace === 'nowrap' && e.getClientRects().length === 1 &&
          e.getBoundingClientRect().height < 2 * parseFloat(cs.lineHeight);
      })()`);
    assert.equal(await oneLine(), true);
    assert.match(
      (await page.evaluate(
        `getComputedStyle(document.querySelector(${JSON.stringify(hkSel)})).fontFamily`,
      )) as string,
      /mono/i,
      'monospace',
    );
    assert.equal((await page.textContent('#details'))!.includes('Hostgithub.com'), false);
    await arm(page);
    await shot(h, 'approval-login');
    await hk.click();
    assert.equal(await hk.textContent(), hostKey, 'a click shows it whole');
    assert.equal(await oneLine(), true, 'still on one line');
    await page.keyboard.press('Escape');
    assert.equal((await decision).allowed, false);
  });

  it('opaque data: "Sign data: N bytes …?"', async () => {
    const { tp, h, page } = await setup('light', fixedClock(), {
      SSH_AGENT_PROXY_NAMESPACES: 'git,file',
    });
    const res = http(`${tp.url}/sign?namespace=file`, {
      method: 'POST',
      body: 'release-notes v1.4.0\n',
    });
    await page.waitForSelector('#prompt:not([hidden])');
    assert.equal(await page.textContent('#kind'), 'Data signature');
    assert.equal(await page.textContent('#headline'), 'Sign data: 21 bytes of text?');
    assert.match(
      h.notifications[0]!,
      /^Sign data: 21 bytes of text\?: Asked by local 127\.0\.0\.1/,
    );
    assert.match((await page.textContent('#details'))!, /SHA-256[0-9a-f]{64}/);
    assert.equal(
      await page.textContent('#allow-grant'),
      'Allow local 127.0.0.1 to sign "file" data with this key for 10 minutes',
    );
    await arm(page);
    await shot(h, 'approval-data');
    await page.click('#deny');
    assert.equal((await res).status, 403);
  });

  it('Deny → 403; Esc → deny', async () => {
    const { tp, page } = await setup();
    const res = curlSign(tp.url, commit('Deny me'));
    await page.waitForSelector('#prompt:not([hidden])');
    await arm(page);
    await page.click('#deny');
    const r = await res.result;
    assert.equal(r.status, 403);
    assert.equal(r.body, 'denied-by-user: the request was denied in the approval prompt\n');
    const esc = curlSign(tp.url, commit('Escape me'));
    await page.locator('#headline', { hasText: 'Sign commit "Escape me"?' }).waitFor();
    await page.keyboard.press('Escape');
    assert.equal((await esc.result).status, 403);
  });

  it(`a click before ${ARM_MS} ms does nothing, one at ${ARM_MS} ms does; Enter is no default`, async () => {
    const { tp, page } = await setup();
    const res = http(`${tp.url}/sign`, { method: 'POST', body: commit('Too quick') });
    await page.waitForSelector('#prompt:not([hidden])');
    // The page's clock stands still: this click lands before the delay, however slow we are.
    await clickAt(page, '#allow-once');
    await page.keyboard.press('Enter');
    await flushIpc(page);
    assert.equal(pending(tp), 1, 'still waiting after an early click and Enter');
    await page.clock.runFor(ARM_MS - 1);
    await clickAt(page, '#allow-once');
    await flushIpc(page);
    assert.equal(pending(tp), 1, `still waiting after a click at ${ARM_MS - 1} ms`);
    assert.equal(await page.isDisabled('#allow-once'), true);
    await page.clock.runFor(1);
    assert.equal(await armed(page), true, `armed at ${ARM_MS} ms`);
    await page.keyboard.press('Enter');
    await flushIpc(page);
    assert.equal(pending(tp), 1, 'Enter with nothing focused answers nothing');
    await page.click('#allow-once');
    assert.equal((await res).status, 200);
  });

  it('one primary (Allow once); nothing focused; Tab lands on Deny, then Allow once, then the grant; a visible focus ring', async () => {
    const { tp, page } = await setup();
    const res = http(`${tp.url}/sign`, { method: 'POST', body: commit('Keyboard') });
    await page.waitForSelector('#prompt:not([hidden])');
    await arm(page);
    assert.deepEqual(await page.$$eval('button.primary', (b) => b.map((x) => x.id)), [
      'allow-once',
    ]);
    assert.equal(await page.evaluate('document.activeElement === document.body'), true);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      order.push((await page.evaluate('document.activeElement.id')) as string);
    }
    assert.deepEqual(order, ['deny', 'allow-once', 'allow-grant']);
    const ring = (await page.evaluate(
      `(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()`,
    )) as [string, number];
    assert.notEqual(ring[0], 'none');
    assert.ok(ring[1] >= 2, 'a 2 px focus ring');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter'); // on Deny
    assert.equal((await res).status, 403);
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`contrast (${scheme}): text at least 5:1, button borders at least 3:1`, async () => {
      const { tp, page } = await setup(scheme);
      const rs = ['One', 'Two'].map((s) =>
        http(`${tp.url}/sign`, { method: 'POST', body: commit(s) }),
      );
      await waitFor(() => pending(tp) === 2, 10_000, 'two pending');
      await page.locator('#position', { hasText: '1 of 2' }).waitFor();
      await arm(page);
      const report = (await page.evaluate(CONTRAST_SCRIPT)) as ContrastReport;
      assert.ok(report.text.length >= 10, 'text was measured');
      assert.ok(report.borders.length >= 5, 'every button was measured');
      for (const t of report.text)
        assert.ok(t.ratio >= 5, `text ${t.what}: ${t.ratio.toFixed(2)}:1`);
      for (const b of report.borders)
        assert.ok(b.ratio >= 3, `border of ${b.what}: ${b.ratio.toFixed(2)}:1`);
      await page.click('#deny-group');
      assert.deepEqual(await Promise.all(rs.map(async (r) => (await r).status)), [403, 403]);
    });
  }

  it('three queued → "1 of 3"; a double click cannot approve two; answer the listed ones together', async () => {
    const { tp, h, page } = await setup();
    const subjects = ['One', 'Two', 'Three'];
    // One after another, so the screenshot shows the same order each run.
    const rs = new Map<string, ReturnType<typeof http>>();
    for (const s of subjects) {
      rs.set(s, http(`${tp.url}/sign`, { method: 'POST', body: commit(s) }));
      await waitFor(() => pending(tp) === rs.size, 5_000, `${s} pending`);
    }
    await page.locator('#position', { hasText: '1 of 3' }).waitFor();
    // Which arrived first is not ours to decide: read what the window shows.
    const head = /"(\w+)"/.exec((await page.textContent('#headline'))!)![1]!;
    const others = subjects.filter((s) => s !== head);
    const groupText = (await page.textContent('#group'))!;
    assert.match(groupText, /Also waiting from this client with this key \(2\)/, groupText);
    for (const o of others) assert.ok(groupText.includes(`Sign git commit "${o}"`), groupText);
    await arm(page);
    await shot(h, 'approval-queue');
    const box = (await page.locator('#allow-once').boundingBox())!;
    await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
    assert.equal((await rs.get(head)!).status, 200);
    await page.locator('#position', { hasText: '1 of 2' }).waitFor();
    await flushIpc(page);
    assert.equal(
      pending(tp),
      2,
      'the second click of the double click did not approve the next one',
    );
    await arm(page);
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
    await arm(page);
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
    await arm(page);
    // Record the armed state in the same task that redraws the list; the observer is in
    // place before the third request is sent.
    await page.evaluate(`window.__armedWhenListChanged = new Promise((resolve) => {
      new MutationObserver((_, obs) => {
        obs.disconnect();
        resolve(document.body.dataset.armed);
      }).observe(document.getElementById('group-list'), { childList: true });
    }); true`);
    const third = http(`${tp.url}/sign`, { method: 'POST', body: commit('a3') });
    const armedWhenListChanged = page.evaluate('window.__armedWhenListChanged');
    assert.equal(await armedWhenListChanged, 'false');
    assert.equal(await page.textContent('#allow-group'), 'Allow these 3 once');
    await arm(page);
    await page.click('#allow-group');
    assert.deepEqual(
      await Promise.all([...rs, third].map(async (r) => (await r).status)),
      [200, 200, 200],
    );
  });

  it('the grant states its scope; Allow devcontainer-api … for N minutes → the next request needs no prompt', async () => {
    const { tp, page, h } = await setup();
    const auth = tokenHeader(tp);
    const [hk, hv] = auth.split(': ') as [string, string];
    const first = http(`${tp.url}/sign`, {
      method: 'POST',
      headers: { [hk]: hv },
      body: commit('Start of a rebase'),
    });
    await page.waitForSelector('#prompt:not([hidden])');
    assert.equal(
      await page.textContent('#allow-grant'),
      'Allow devcontainer-api with this key for 10 minutes',
    );
    await arm(page);
    await page.click('#allow-grant');
    assert.equal((await first).status, 200);
    const shownBefore = h.shown;
    for (let i = 0; i < 3; i++)
      assert.equal(
        (
          await http(`${tp.url}/sign`, {
            method: 'POST',
            headers: { [hk]: hv },
            body: commit(`rebase ${i}`),
          })
        ).status,
        200,
      );
    assert.equal(h.shown, shownBefore, 'no prompt while the grant lives');
    assert.equal(tp.proxy.broker.grants().length, 1);
  });

  it('the window is its content’s height; a long one is capped and keeps its buttons in view; dark theme', async () => {
    const { tp, h, page } = await setup('dark');
    const res = http(`${tp.url}/sign`, { method: 'POST', body: commit('Fix login race') });
    await page.waitForSelector('#prompt:not([hidden])');
    await arm(page);
    await settle(h);
    const want = h.fits.at(-1)!;
    assert.ok(want > 0 && want < APPROVAL_HEIGHT.max, `asked for ${want}`);
    assert.equal(page.viewportSize()!.height, approvalContentHeight(want, WORK_AREA));
    const fits = (await page.evaluate(
      'document.documentElement.scrollHeight <= document.documentElement.clientHeight',
    )) as boolean;
    assert.equal(fits, true, 'no scrolling in a window sized to its content');
    await shot(h, 'approval-dark');
    await page.click('#deny');
    assert.equal((await res).status, 403);

    // A push certificate updating twenty refs: more lines than the window may grow to.
    const updates = Array.from(
      { length: 20 },
      (_, i) =>
        `${'1'.repeat(40)} ${String(i).padStart(40, '2')} refs/heads/a-rather-long-branch-name-${i}\n`,
    );
    const body = Buffer.from(
      `certificate version 0.1\npusher ${'Bartholomew '.repeat(6)}<b@example.test> 1700000000 +0000\npushee https://git.example.test/${'very-long-path/'.repeat(8)}repo.git\nnonce 1700000000-0123456789abcdef\n\n${updates.join('')}`,
    );
    const big = http(`${tp.url}/sign`, { method: 'POST', body });
    await page.locator('#kind', { hasText: 'Push certificate' }).waitFor();
    await arm(page);
    await settle(h);
    assert.equal(page.viewportSize()!.height, APPROVAL_HEIGHT.max, 'capped');
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth > document.documentElement.clientWidth',
    );
    assert.equal(overflow, false, 'no horizontal overflow');
    for (const id of ['#deny', '#allow-once', '#allow-grant'])
      assert.ok(await page.locator(id).isVisible(), `${id} stays in view`);
    const inView = (await page.evaluate(
      `document.getElementById('allow-grant').getBoundingClientRect().bottom <= innerHeight`,
    )) as boolean;
    assert.equal(inView, true, 'the grant button is inside the window');
    await page.click('#deny');
    assert.equal((await big).status, 403);
  });

  it('hidden when nothing waits: after the last answer, when the last request is withdrawn, when it times out; shown again for the next', async () => {
    let fire: (() => void) | undefined;
    // Main's clock by hand: the broker's deadline fires when the test says.
    const clock: Clock = {
      now: () => PAGE_TIME,
      setTimer: (fn, ms) => {
        if (ms >= 60_000) fire = fn; // the approval deadline (the default is 120 s)
        return ms >= 60_000 ? () => {} : realClock.setTimer(fn, ms);
      },
    };
    const { tp, h, page } = await setup('light', clock);
    assert.equal(h.visible, false, 'nothing waits at start');
    const first = curlSign(tp.url, commit('Withdrawn'));
    await waitFor(() => h.visible, 10_000, 'shown for the first request');
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => !h.visible, 10_000, 'hidden once the requester hung up');
    await first.result;
    const second = http(`${tp.url}/sign`, { method: 'POST', body: commit('Times out') });
    await waitFor(() => h.visible, 10_000, 'shown again for the next');
    assert.equal(h.shown, 2);
    await waitFor(() => fire !== undefined, 10_000, 'the deadline set');
    fire!();
    assert.equal((await second).status, 403);
    assert.equal(h.visible, false, 'hidden once it timed out');
    const third = http(`${tp.url}/sign`, { method: 'POST', body: commit('Answered') });
    await waitFor(() => h.visible, 10_000, 'shown again');
    await page.locator('#headline', { hasText: 'Answered' }).waitFor();
    await arm(page);
    await page.click('#allow-once');
    assert.equal((await third).status, 200);
    assert.equal(h.visible, false, 'hidden after the last answer');
    assert.equal(h.hidden, 3);
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
