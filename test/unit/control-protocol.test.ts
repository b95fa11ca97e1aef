// The control protocol in core: naming a grant by a prefix of its id (never a guess between
// two), each op's effect on a real broker, refusals for every malformed line, and where the
// channel listens on each OS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApprovalBroker, type Grant } from '../../src/core/approval/approval-broker.js';
import { anonymousClient } from '../../src/core/approval/client.js';
import { answerControl, findGrant } from '../../src/core/control/control-protocol.js';
import { controlSocketPath } from '../../src/core/control/control-socket.js';
import { silentLogger } from '../../src/core/logger.js';

const key = { fingerprint: 'SHA256:k', type: 'ssh-ed25519', comment: 'c', label: 'ED25519' };

function broker(): ApprovalBroker {
  return new ApprovalBroker({
    policy: 'prompt',
    timeoutMs: 60_000,
    grantMs: 600_000,
    grantMaxUses: 0,
    maxPending: 10,
    maxPendingPerClient: 10,
  });
}

const grantWithId = (id: string): Grant => ({
  id,
  client: anonymousClient('127.0.0.1'),
  fingerprint: 'SHA256:k',
  keyLabel: 'ED25519',
  namespace: 'git',
  createdAt: 0,
  expiresAt: Date.now() + 60_000,
  maxUses: null,
  uses: 0,
});

describe('findGrant', () => {
  const grants = [
    grantWithId('abcd1111-0000-4000-8000-000000000000'),
    grantWithId('abcd2222-0000-4000-8000-000000000000'),
  ];
  it('a unique prefix of 4+ characters names one grant, in any case', () => {
    assert.equal(findGrant(grants, 'ABCD1')!, grants[0]);
    assert.equal(findGrant(grants, grants[1]!.id), grants[1]);
  });
  it('a prefix two grants share is refused, never a guess', () => {
    assert.match(findGrant(grants, 'abcd') as string, /^ambiguous-id: 2 grants start with abcd/);
  });
  it('too short, or naming none', () => {
    assert.match(findGrant(grants, 'abc') as string, /^bad-request: give at least 4/);
    assert.match(findGrant(grants, 'ffff') as string, /^no-such-grant: /);
    assert.match(findGrant([], 'abcd') as string, /^no-such-grant: /);
  });
});

describe('answerControl on a real broker', () => {
  it('revoke takes the grant away; pause denies and refuses; resume restores', async () => {
    const b = broker();
    const client = anonymousClient('127.0.0.1');
    b.attach({ update: () => {} });
    const pending = b.decide(client, key, 'git', { kind: 'data', size: 1, sha256: 'x' } as never);
    b.answer({ id: b.queue()[0]!.id }, 'allow-for-grant');
    const [g] = b.grants();
    const listed = answerControl('{"op":"grants"}', b, silentLogger, 'test');
    assert.ok(listed.ok && listed.grants.length === 1 && listed.grants[0]!.id === g!.id);
    const r = answerControl(
      JSON.stringify({ op: 'revoke', id: g!.id.slice(0, 6) }),
      b,
      silentLogger,
      'test',
    );
    assert.ok(r.ok && r.revoked?.id === g!.id);
    assert.equal(b.grants().length, 0);
    assert.equal(b.decideWithoutPrompt(client, key, 'git'), null, 'no grant answers any more');
    assert.equal(answerControl('{"op":"pause"}', b, silentLogger, 'test').ok, true);
    assert.equal(b.precheck()?.allowed, false);
    assert.equal(answerControl('{"op":"resume"}', b, silentLogger, 'test').ok, true);
    assert.equal(b.precheck(), null);
    assert.equal((await pending).allowed, true);
  });

  it('every malformed line is a bad-request answer, never a throw', () => {
    const b = broker();
    for (const line of [
      '',
      'x',
      'null',
      '1',
      '"op"',
      '[]',
      '{}',
      '{"op":1}',
      '{"op":"revoke"}',
      '{"op":"revoke","id":"zz zz"}',
      '{"op":"__proto__"}',
      '{"__proto__":{"op":"pause"}}',
    ]) {
      const a = answerControl(line, b, silentLogger, 'test');
      assert.equal(a.ok, false, line);
      assert.match((a as { error: string }).error, /^bad-request: /, line);
    }
    assert.equal(b.paused, false);
  });
});

describe('controlSocketPath', () => {
  it('a socket in the config dir; on Windows a pipe named from it', () => {
    assert.equal(
      controlSocketPath('/home/a/.config/ssh-agent-proxy', 'linux'),
      '/home/a/.config/ssh-agent-proxy/control.sock',
    );
    const pipe = controlSocketPath('C:\\Users\\A\\AppData\\Roaming\\ssh-agent-proxy', 'win32');
    assert.match(pipe, /^\\\\\.\\pipe\\ssh-agent-proxy-control-[0-9a-f]{16}$/);
    assert.equal(
      controlSocketPath('c:\\users\\a\\appdata\\roaming\\ssh-agent-proxy', 'win32'),
      pipe,
      'paths are case-insensitive there',
    );
    assert.notEqual(controlSocketPath('C:\\other', 'win32'), pipe);
  });
});
