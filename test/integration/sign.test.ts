// The tests that matter most: /sign is byte-identical to `ssh-keygen -Y sign` (Ed25519,
// RSA) and verifies with ssh-keygen for every key type, through a real ssh-agent.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  makeKey,
  mustRun,
  run,
  startAgent,
  tempDir,
  type Agent,
  type TestKey,
  keygenVerify,
} from '../helpers/openssh.js';
import { http, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { needsPrivateAgent } from '../helpers/platform.js';

let dir: string;
let agent: Agent;
let keys: Record<'ed25519' | 'rsa' | 'ecdsa256' | 'ecdsa384' | 'ecdsa521', TestKey>;
let tp: TestProxy;

before(async () => {
  dir = tempDir();
  agent = await startAgent(dir);
  const [ed25519, rsa, ecdsa256, ecdsa384, ecdsa521] = await Promise.all([
    makeKey(dir, 'ed25519'),
    makeKey(dir, 'rsa'),
    makeKey(dir, 'ecdsa256'),
    makeKey(dir, 'ecdsa384'),
    makeKey(dir, 'ecdsa521'),
  ]);
  keys = {
    ed25519: ed25519!,
    rsa: rsa!,
    ecdsa256: ecdsa256!,
    ecdsa384: ecdsa384!,
    ecdsa521: ecdsa521!,
  };
  for (const k of Object.values(keys)) await agent.add(k);
  tp = await startTestProxy({
    SSH_AGENT_PROXY_UPSTREAM: agent.sock,
    SSH_AGENT_PROXY_NAMESPACES: 'git,file',
  });
});

async function sign(body: Buffer, key?: string, namespace?: string) {
  const q = new URLSearchParams();
  if (key) q.set('key', key);
  if (namespace) q.set('namespace', namespace);
  return http(`${tp.url}/sign${q.size ? `?${q}` : ''}`, { method: 'POST', body });
}

const SIZES = [1, 2, 63, 64, 65, 1000, 4096, 65_537, 1 << 20, 3 * (1 << 20) + 7];

describe('byte-identical to ssh-keygen -Y sign', () => {
  for (const kind of ['ed25519', 'rsa'] as const) {
    it(`${kind}: random messages of ${SIZES.length} sizes up to 3 MiB`, async () => {
      for (const size of SIZES) {
        const msg = randomBytes(size);
        const file = join(dir, `msg-${kind}-${size}`);
        writeFileSync(file, msg);
        await mustRun('ssh-keygen', ['-q', '-Y', 'sign', '-n', 'git', '-f', keys[kind].priv, file]);
        const expected = readFileSync(`${file}.sig`, 'utf8');
        const res = await sign(msg, keys[kind].fingerprint);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers['content-type'], 'application/x-ssh-signature');
        assert.equal(res.text, expected, `size ${size}`);
      }
    });
  }
});

describe('every key type verifies with ssh-keygen', () => {
  for (const kind of ['ed25519', 'rsa', 'ecdsa256', 'ecdsa384', 'ecdsa521'] as const) {
    it(`${kind}: check-novalidate and verify against allowed signers`, async () => {
      const msg = randomBytes(777);
      const file = join(dir, `v-${kind}`);
      writeFileSync(file, msg);
      const res = await sign(msg, keys[kind].line);
      assert.equal(res.status, 200, res.text);
      writeFileSync(`${file}.sig`, res.body);
      const sigLines = res.text.trim().split('\n');
      assert.equal(sigLines[0], '-----BEGIN SSH SIGNATURE-----');
      assert.ok(
        sigLines.slice(1, -1).every((l) => l.length <= 70),
        'armor wraps at 70 columns',
      );
      const check = await run(
        'ssh-keygen',
        ['-Y', 'check-novalidate', '-n', 'git', '-s', `${file}.sig`],
        { input: msg },
      );
      assert.equal(check.code, 0, check.stderr);
      writeFileSync(join(dir, 'allowed'), `ana@test ${keys[kind].line}\n`);
      const verify = await keygenVerify(join(dir, 'allowed'), 'ana@test', `${file}.sig`, msg);
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stdout, /Good "git" signature for ana@test/);
      // A different message must not verify: the test can fail.
      const tampered = await run(
        'ssh-keygen',
        ['-Y', 'check-novalidate', '-n', 'git', '-s', `${file}.sig`],
        {
          input: Buffer.concat([msg, Buffer.from('x')]),
        },
      );
      assert.notEqual(tampered.code, 0);
    });
  }

  it('another allowed namespace is signed into the signature', async () => {
    const msg = Buffer.from('namespaced\n');
    const res = await sign(msg, keys.ed25519.fingerprint, 'file');
    assert.equal(res.status, 200, res.text);
    writeFileSync(join(dir, 'ns.sig'), res.body);
    assert.equal(
      (
        await run(
          'ssh-keygen',
          ['-Y', 'check-novalidate', '-n', 'file', '-s', join(dir, 'ns.sig')],
          { input: msg },
        )
      ).code,
      0,
    );
    assert.notEqual(
      (
        await run(
          'ssh-keygen',
          ['-Y', 'check-novalidate', '-n', 'git', '-s', join(dir, 'ns.sig')],
          { input: msg },
        )
      ).code,
      0,
    );
  });
});

describe('key selection', () => {
  it('no key named: the first key the agent holds', async () => {
    const first = (await mustRun('ssh-add', ['-l', '-E', 'sha256'], { env: agent.env }))
      .split('\n')[0]!
      .split(' ')[1];
    const res = await http(`${tp.url}/publickey`);
    assert.equal(res.status, 200);
    assert.equal(res.text.trim(), keys.ed25519.line);
    assert.equal(first, keys.ed25519.fingerprint);
  });

  it('a key named by header is used; ?key= and header must agree', async () => {
    const res = await http(`${tp.url}/sign`, {
      method: 'POST',
      headers: { 'X-SSH-Agent-Proxy-Key': keys.ecdsa384.line },
      body: 'x',
    });
    assert.equal(res.status, 200);
    writeFileSync(join(dir, 'h.sig'), res.body);
    const fp = await mustRun(
      'ssh-keygen',
      ['-Y', 'check-novalidate', '-n', 'git', '-s', join(dir, 'h.sig')],
      { input: 'x' },
    );
    assert.match(fp, new RegExp(keys.ecdsa384.fingerprint.replace(/[+/]/g, '\\$&')));
    const conflict = await http(
      `${tp.url}/sign?key=${encodeURIComponent(keys.ed25519.fingerprint)}`,
      {
        method: 'POST',
        headers: { 'X-SSH-Agent-Proxy-Key': keys.rsa.fingerprint },
        body: 'x',
      },
    );
    assert.equal(conflict.status, 400);
    assert.match(conflict.text, /^conflicting-key: /);
  });

  it('/publickey?key= returns that key; an unknown key is 404 saying how many keys the agent holds', async () => {
    const res = await http(`${tp.url}/publickey?key=${encodeURIComponent(keys.rsa.fingerprint)}`);
    assert.equal(res.text.trim(), keys.rsa.line);
    const other = await makeKey(dir, 'ed25519', 'not-in-agent');
    const missing = await sign(Buffer.from('x'), other.fingerprint);
    assert.equal(missing.status, 404);
    assert.equal(
      missing.text,
      `key-not-found: the agent holds no key ${other.fingerprint} (it holds 5 keys)\n`,
    );
  });

  it('/keys lists every key with type, fingerprint, comment and line', async () => {
    const res = await http(`${tp.url}/keys`);
    assert.equal(res.status, 200);
    const list = JSON.parse(res.text) as {
      fingerprint: string;
      publicKey: string;
      type: string;
      comment: string;
    }[];
    assert.deepEqual(
      list.map((k) => k.fingerprint),
      [keys.ed25519, keys.rsa, keys.ecdsa256, keys.ecdsa384, keys.ecdsa521].map(
        (k) => k.fingerprint,
      ),
    );
    assert.equal(list[1]!.publicKey, keys.rsa.line);
    assert.equal(list[1]!.type, 'ssh-rsa');
    assert.equal(list[1]!.comment, 'rsa@test');
  });

  it('a pin limits which key may be used', async () => {
    const pinned = await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_PUBKEY: keys.ecdsa256.line,
    });
    const res = await http(`${pinned.url}/publickey`);
    assert.equal(res.text.trim(), keys.ecdsa256.line);
    const other = await http(
      `${pinned.url}/sign?key=${encodeURIComponent(keys.ed25519.fingerprint)}`,
      { method: 'POST', body: 'x' },
    );
    assert.equal(other.status, 403);
    assert.match(other.text, /^key-not-allowed: /);
    const ok = await http(`${pinned.url}/sign`, { method: 'POST', body: 'x' });
    assert.equal(ok.status, 200);
  });

  it('a pin from a file the agent does not hold → 503 pinned-key-missing', async () => {
    const other = await makeKey(dir, 'ed25519', 'pin-missing');
    const pinned = await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_PUBKEY_FILE: other.pub,
    });
    const res = await http(`${pinned.url}/sign`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 503);
    assert.match(res.text, /^pinned-key-missing: .*holds 5 keys/);
  });
});

describe('key rotation and certificates', { skip: needsPrivateAgent }, () => {
  it('a key removed and another added in the agent is used on the very next request', async () => {
    const dir2 = tempDir();
    const a2 = await startAgent(dir2);
    const k1 = await makeKey(dir2, 'ed25519', 'old');
    const k2 = await makeKey(dir2, 'ed25519', 'new');
    await a2.add(k1);
    const p = await startTestProxy({ SSH_AGENT_PROXY_UPSTREAM: a2.sock });
    assert.equal((await http(`${p.url}/publickey`)).text.trim(), k1.line);
    await a2.remove(k1);
    await a2.add(k2);
    const res = await http(`${p.url}/sign`, { method: 'POST', body: 'rotated' });
    assert.equal(res.status, 200);
    writeFileSync(join(dir2, 'r.sig'), res.body);
    writeFileSync(join(dir2, 'allowed'), `me ${k2.line}\n`);
    const v = await keygenVerify(join(dir2, 'allowed'), 'me', join(dir2, 'r.sig'), 'rotated');
    assert.equal(v.code, 0, v.stderr);
    await a2.removeAll();
    const none = await http(`${p.url}/sign`, { method: 'POST', body: 'x' });
    assert.equal(none.status, 503);
    assert.match(none.text, /^no-keys: /);
  });

  it('a certificate the agent holds signs with its base algorithm and verifies', async () => {
    const dir3 = tempDir();
    const a3 = await startAgent(dir3);
    const ca = await makeKey(dir3, 'ed25519', 'ca');
    for (const kind of ['ed25519', 'rsa', 'ecdsa256'] as const) {
      const user = await makeKey(dir3, kind, `user-${kind}`);
      await mustRun('ssh-keygen', ['-q', '-s', ca.priv, '-I', 'ana', '-n', 'ana', user.pub]);
      await a3.add(user); // ssh-add loads user-KIND-cert.pub alongside
      const certLine = readFileSync(`${user.priv}-cert.pub`, 'utf8').trim();
      const res = await http(
        `${(await startTestProxy({ SSH_AGENT_PROXY_UPSTREAM: a3.sock })).url}/sign`,
        {
          method: 'POST',
          headers: { 'X-SSH-Agent-Proxy-Key': certLine },
          body: 'cert',
        },
      );
      assert.equal(res.status, 200, `${kind}: ${res.text}`);
      writeFileSync(join(dir3, 'c.sig'), res.body);
      writeFileSync(join(dir3, 'allowed'), `ana cert-authority ${ca.line}\n`);
      const v = await keygenVerify(join(dir3, 'allowed'), 'ana', join(dir3, 'c.sig'), 'cert');
      assert.equal(v.code, 0, `${kind}: ${v.stderr}${v.stdout}`);
    }
  });
});
