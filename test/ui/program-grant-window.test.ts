// The approval window's program-scoped grant (issue #19 item 4): a secondary button stating
// its scope — "Allow git (/usr/bin/git) with this key for 10 minutes" — shown only when the
// host read the program's executable, armed like the others, and its click gives a grant
// that covers that executable only. (Which process is found is tested with real processes
// in test/integration/program-grant.test.ts; here the broker is asked as the fronts ask it.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { ClientInfo } from '../../src/core/approval/client.js';
import { describe as describeBytes } from '../../src/core/approval/describe.js';
import type { PeerProcess } from '../../src/core/peer/peer-process.js';
import { commitObject } from '../helpers/fixtures.js';
import { startTestProxy } from '../helpers/proxy.js';
import { openWindow } from './harness.js';

const ARM_MS = 600;
const key = {
  fingerprint: 'SHA256:k',
  type: 'ssh-ed25519',
  comment: 'ana-laptop',
  label: 'ED25519',
};
const git: PeerProcess = { pid: 4001, name: 'git', exe: '/usr/bin/git', parents: [] };
const client = (program?: PeerProcess): ClientInfo => ({
  id: 'token t1',
  name: 'devcontainer-api',
  address: '127.0.0.1',
  ...(program ? { program } : {}),
});

async function setup() {
  const tp = await startTestProxy({
    SSH_AGENT_PROXY_APPROVAL: 'prompt',
    SSH_AGENT_PROXY_PROGRAM_LOOKUP: 'false',
  });
  const h = await openWindow(tp.proxy, 'approval.html', { holdClock: true });
  return { broker: tp.proxy.broker, page: h.page };
}

async function arm(page: Page): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await page.clock.runFor(ARM_MS);
    if ((await page.getAttribute('body', 'data-armed')) === 'true') return;
  }
  assert.fail('the buttons never armed');
}

describe('approval window: allow this program for a while', () => {
  it('the button states the executable; a click grants it, and only it', async () => {
    const { broker, page } = await setup();
    const d = broker.decide(client(git), key, 'git', describeBytes(commitObject('wip')));
    await page.waitForSelector('#prompt:not([hidden])');
    const button = page.locator('#allow-program-grant');
    assert.equal(await button.isVisible(), true);
    assert.equal(
      await button.textContent(),
      'Allow git (/usr/bin/git) with this key for 10 minutes',
    );
    const box = (await button.boundingBox())!;
    // Before the arming delay: nothing (a mouse click, as a person's, wherever the button is).
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.evaluate(`window.sshAgentProxy.invoke('approval:queue')`);
    assert.equal(broker.queue().length, 1, 'a click before arming answered');
    await arm(page);
    await button.click();
    assert.equal((await d).allowed, true);
    assert.equal(broker.grants()[0]?.program?.exe, '/usr/bin/git');
    const again = (program?: PeerProcess) =>
      broker.decideWithoutPrompt(client(program), key, 'git');
    assert.equal(again({ ...git, pid: 4002 })?.allowed, true, 'the same executable');
    assert.equal(again({ ...git, exe: '/tmp/git' }), null, 'another executable named git');
    assert.equal(again(undefined), null, 'a program not known');
  });

  it('not offered when the program’s executable is not known', async () => {
    const { broker, page } = await setup();
    const d = broker.decide(client(undefined), key, 'git', describeBytes(commitObject('wip')));
    await page.waitForSelector('#prompt:not([hidden])');
    assert.equal(await page.locator('#allow-program-grant').isVisible(), false);
    // Even a forged click (the button's handler) answers nothing: the broker refuses it too.
    await arm(page);
    await page.evaluate(`document.getElementById('allow-program-grant').click()`);
    await page.evaluate(`window.sshAgentProxy.invoke('approval:queue')`);
    assert.equal(broker.queue().length, 1);
    assert.equal(broker.grants().length, 0);
    await page.keyboard.press('Escape');
    assert.equal((await d).allowed, false);
  });
});
