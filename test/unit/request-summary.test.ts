// How the approval window and its notification word a request: each kind its own verb,
// who / what / which key first, fingerprints kept out of the question, the grant's scope
// stated. Descriptions come from the real describe() where bytes make them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PendingRequest } from '../../src/core/approval/approval-broker.js';
import { describe as describePayload } from '../../src/core/approval/describe.js';
import type { SshLoginDescription } from '../../src/core/approval/describe.js';
import {
  grantLabel,
  requestNotification,
  requestQuestion,
  requestSummary,
} from '../../src/core/approval/request-summary.js';
import { commitObject } from '../helpers/fixtures.js';

const FP = 'SHA256:z/fSv0Z0RZS+Lccbc6ZoOWwt/fbj1VFJGSBKQbo4icE';
const HOST_FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

function pending(
  description: PendingRequest['description'],
  o: { namespace?: string; comment?: string; token?: boolean } = {},
): PendingRequest {
  return {
    id: 'r1',
    client: {
      id: 'tok-1',
      name: 'devcontainer-api',
      address: '172.17.0.2',
      ...(o.token === false ? {} : { tokenName: 'devcontainer-api' }),
    },
    key: {
      fingerprint: FP,
      type: 'ssh-ed25519',
      comment: o.comment ?? 'ana-laptop',
      label: 'ED25519',
    },
    namespace: o.namespace ?? 'git',
    description,
    receivedAt: 0,
    deadline: 120_000,
    group: 'g',
  };
}

const login = (o: Partial<SshLoginDescription> = {}): SshLoginDescription => ({
  kind: 'ssh-auth',
  user: 'git',
  algorithm: 'ssh-ed25519',
  destination: 'known',
  host: 'github.com',
  hostKey: HOST_FP,
  forwarded: false,
  size: 100,
  sha256: '00'.repeat(32),
  ...o,
});

describe('request summary', () => {
  it('each kind asks with its own verb', () => {
    assert.equal(
      requestQuestion(describePayload(commitObject('Fix login race'))),
      'Sign commit "Fix login race"?',
    );
    assert.equal(
      requestQuestion(describePayload(Buffer.from('hello\n'))),
      'Sign data: 6 bytes of text?',
    );
    assert.equal(
      requestQuestion(describePayload(Buffer.from([0, 1, 2, 0xff]))),
      'Sign data: 4 bytes of binary data?',
    );
    assert.equal(requestQuestion(login()), 'Log in to github.com as git?');
    assert.equal(
      requestQuestion(login({ destination: 'unknown', host: null })),
      'Log in to an unknown host as git?',
    );
    assert.equal(
      requestQuestion(login({ destination: 'unbound', host: null, hostKey: null })),
      'Log in to an unverified host as git?',
    );
    for (const d of [
      login(),
      login({ destination: 'unknown', host: null }),
      login({ destination: 'hashed', host: null }),
    ])
      assert.ok(!requestQuestion(d).includes('SHA256:'), 'no fingerprint in the question');
  });

  it('who, which key first; the host key and the key fingerprint below, marked as fingerprints, once each', () => {
    const s = requestSummary(pending(login()));
    assert.equal(s.kind, 'login');
    assert.equal(s.kindLabel, 'SSH login');
    assert.equal(s.client, 'devcontainer-api');
    assert.equal(s.clientNote, 'token, from 172.17.0.2');
    assert.equal(s.keyName, 'ana-laptop');
    assert.equal(s.keyType, 'ED25519');
    const fps = s.details.filter((l) => l.fingerprint).map((l) => [l.label, l.value]);
    assert.deepEqual(fps, [
      ['Host key', HOST_FP],
      ['Key', FP],
    ]);
    assert.equal(
      s.details.filter((l) => l.value.includes(HOST_FP)).length,
      1,
      'the host key is listed once',
    );
    assert.ok(!s.details.some((l) => l.label === 'Host'), 'the host is the question already');
    // An unknown host keeps its Host line: it says why there is no name.
    const u = requestSummary(pending(login({ destination: 'unknown', host: null })));
    assert.ok(u.details.some((l) => l.label === 'Host' && /not in known_hosts/.test(l.value)));
  });

  it('a key without a comment is named by its type; an anonymous client has no note', () => {
    const s = requestSummary(
      pending(describePayload(commitObject('x')), { comment: '', token: false }),
    );
    assert.equal(s.keyName, 'ED25519');
    assert.equal(s.clientNote, '');
  });

  it('the grant states its scope: who, with this key, for what, how long', () => {
    const commit = describePayload(commitObject('x'));
    assert.equal(
      grantLabel(pending(commit), 10),
      'Allow devcontainer-api with this key for 10 minutes',
    );
    assert.equal(
      grantLabel(pending(commit, { namespace: 'file' }), 5),
      'Allow devcontainer-api to sign "file" data with this key for 5 minutes',
    );
    assert.equal(
      grantLabel(pending(login()), 10),
      'Allow devcontainer-api to log in to github.com with this key for 10 minutes',
    );
  });

  it('the notification asks the question, says who asks and with which key; never "signature" for a login', () => {
    assert.deepEqual(requestNotification(pending(login()), 1), {
      title: 'Log in to github.com as git?',
      body: 'Asked by devcontainer-api · key ana-laptop',
    });
    assert.deepEqual(requestNotification(pending(describePayload(commitObject('Fix'))), 3), {
      title: 'Sign commit "Fix"?',
      body: 'Asked by devcontainer-api · key ana-laptop · 3 waiting',
    });
  });

  it('the notification names the program the host saw, short (name ← parent), as plain text', () => {
    const r = pending(describePayload(commitObject('Fix')));
    r.client.program = {
      pid: 4242,
      name: 'bash',
      parents: [
        { pid: 4241, name: 'git' },
        { pid: 4240, name: 'zsh' },
      ],
    };
    assert.equal(
      requestNotification(r, 1).body,
      'Asked by devcontainer-api · bash ← git · key ana-laptop',
    );
    r.client.program = { pid: 7, name: 'x\u001b[2J\rok', parents: [] };
    const body = requestNotification(r, 1).body;
    assert.ok(![...body].some((c) => c.charCodeAt(0) < 0x20), body);
  });

  it('hostile text stays one clean line', () => {
    const s = requestSummary(
      pending(login({ user: 'git\u001b[2J\nroot', host: 'evil\u202e.com' }), {
        comment: 'a\nb\u0007',
      }),
    );
    for (const v of [s.question, s.client, s.keyName, ...s.details.map((l) => l.value)])
      assert.ok(
        ![...v].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f' || c === '\u202e'),
        JSON.stringify(v),
      );
  });
});
