// Who policy `allow` decides for without a person, and when a prompter is worth attaching:
// every combination, so that no branch of either rule can change unnoticed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anonymousClient, tokenClient } from '../../src/core/approval/client.js';
import { allowsUnattended, someoneMayBeAsked } from '../../src/core/approval/unattended-allow.js';

const withToken = tokenClient(
  { id: 't1', name: 'box', keys: [], namespaces: [], gitOnly: false },
  '127.0.0.1',
);
const localSocket = { id: 'local-socket', name: 'local socket', address: '/run/a.sock' };

describe('unattended allow', () => {
  it('covers a token holder always, a tokenless client only with the consent', () => {
    for (const consent of [false, true]) {
      assert.equal(allowsUnattended(withToken, consent), true);
      assert.equal(allowsUnattended(localSocket, consent), consent);
      assert.equal(allowsUnattended(anonymousClient('127.0.0.1'), consent), consent);
    }
  });

  it('someone may be asked under prompt, never under deny, under allow only for the socket without the consent', () => {
    const cases = [
      ['prompt', false, null, true],
      ['prompt', true, '/s', true],
      ['deny', false, '/s', false],
      ['allow', false, null, false],
      ['allow', false, '/s', true],
      ['allow', true, '/s', false],
    ] as const;
    for (const [approval, allowAnyLocalProcess, agentSocket, expected] of cases) {
      assert.equal(
        someoneMayBeAsked({ approval, allowAnyLocalProcess, agentSocket }),
        expected,
        JSON.stringify({ approval, allowAnyLocalProcess, agentSocket }),
      );
    }
  });
});
