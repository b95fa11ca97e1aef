// Who is at the other end of a same-host connection, found with real processes: a renamed
// copy of curl on loopback TCP (IPv4 and IPv6), ssh-add on a Unix socket, each named with
// its pid and parent chain — and the limits: once per connection, within the budget.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConnectionPeers } from '../../src/core/peer/connection-peers.js';
import { choosePeerFinder } from '../../src/core/peer/choose-peer-finder.js';
import { DarwinPeerFinder } from '../../src/core/peer/peer-finder-darwin.js';
import {
  describePeer,
  type PeerFinder,
  type PeerProcess,
} from '../../src/core/peer/peer-process.js';

const linux = process.platform === 'linux';
let dir: string;
let fetcher: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'peer-finder-'));
  // A copy under a name of its own: what the person sees is what the kernel saw exec'd.
  fetcher = join(dir, 'fetch-renamed');
  copyFileSync('/usr/bin/curl', fetcher);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A server that hands its first connection to `onConn`, which answers (or not) and ends it. */
async function listenOnce(
  where: { host: string } | { path: string },
  onConn: (s: Socket) => Promise<void>,
): Promise<{ server: Server; port: number; done: Promise<void> }> {
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  const server = createServer((s) => {
    s.on('error', () => {});
    onConn(s).then(resolveDone, rejectDone);
  });
  await new Promise<void>((r) =>
    'path' in where ? server.listen(where.path, r) : server.listen(0, where.host, r),
  );
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0, done };
}

/** A loopback TCP client whose one connection `onConn` handles; resolves once it is handled. */
async function oneLoopbackConnection(onConn: (s: Socket) => Promise<void>): Promise<void> {
  const srv = await listenOnce({ host: '127.0.0.1' }, onConn);
  const c = connect(srv.port, '127.0.0.1');
  c.on('error', () => {});
  c.resume();
  await srv.done;
  c.destroy();
  srv.server.close();
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
}

/** curl (renamed) started by sh, so the chain reads fetch-renamed ← sh ← node. */
async function peerOfRenamedCurl(host: string, url: (port: number) => string) {
  const peers = new ConnectionPeers(choosePeerFinder());
  let found: PeerProcess | undefined;
  const srv = await listenOnce({ host }, async (s) => {
    found = await peers.of(s);
    s.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
  });
  const child = spawn('sh', ['-c', '"$0" -s -o /dev/null "$1"; exit 0', fetcher, url(srv.port)], {
    stdio: 'ignore',
  });
  try {
    await srv.done;
    return { found, curlParent: child.pid };
  } finally {
    await exited(child);
    srv.server.close();
  }
}

describe('peer process on Linux (real processes)', { skip: !linux && 'Linux /proc finder' }, () => {
  it('names a renamed curl on 127.0.0.1 with its pid and parents', async () => {
    const { found, curlParent } = await peerOfRenamedCurl(
      '127.0.0.1',
      (p) => `http://127.0.0.1:${p}/`,
    );
    assert.ok(found, 'the peer was found');
    assert.equal(found.name, 'fetch-renamed');
    assert.equal(found.exe, fetcher);
    assert.equal(found.cwd, process.cwd());
    assert.ok(found.startTime && /^\d+$/.test(found.startTime));
    assert.equal(found.parents[0]?.pid, curlParent);
    assert.equal(found.parents[0]?.name, 'sh');
    assert.equal(found.parents[1]?.pid, process.pid);
    assert.match(describePeer(found), new RegExp(`^fetch-renamed \\(pid ${found.pid}\\) ← sh ← `));
  });

  it('names a renamed curl on [::1]', async () => {
    const { found, curlParent } = await peerOfRenamedCurl('::1', (p) => `http://[::1]:${p}/`);
    assert.equal(found?.name, 'fetch-renamed');
    assert.equal(found?.parents[0]?.pid, curlParent);
  });

  it('names ssh-add on a Unix socket (through ss)', async () => {
    const peers = new ConnectionPeers(choosePeerFinder());
    const path = join(dir, 'agent.sock');
    let found: PeerProcess | undefined;
    const srv = await listenOnce({ path }, async (s) => {
      found = await peers.of(s, path);
      // SSH_AGENT_FAILURE to whatever ssh-add asked: it exits.
      s.end(Buffer.from([0, 0, 0, 1, 5]));
    });
    const child = spawn('ssh-add', ['-l'], {
      stdio: 'ignore',
      env: { ...process.env, SSH_AUTH_SOCK: path },
    });
    try {
      await srv.done;
    } finally {
      await exited(child);
      srv.server.close();
    }
    assert.equal(found?.name, 'ssh-add');
    assert.equal(found?.pid, child.pid);
    assert.equal(found?.parents[0]?.pid, process.pid);
  });

  it('a burst of 20 connections at once: each is named, with its own pid', async () => {
    const peers = new ConnectionPeers(choosePeerFinder(), 30_000);
    const found: Promise<PeerProcess | undefined>[] = [];
    let all!: () => void;
    const twenty = new Promise<void>((r) => (all = r));
    const server = createServer((s) => {
      s.on('error', () => {});
      // Looked up while all 20 are open: curl waits for the answer.
      found.push(peers.of(s));
      if (found.length === 20) all();
      void peers.of(s).then(() => {
        if (found.length === 20) s.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
        else void twenty.then(() => s.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const children = Array.from({ length: 20 }, () =>
      spawn(fetcher, ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/`], { stdio: 'ignore' }),
    );
    try {
      await twenty;
      const peersFound = await Promise.all(found);
      assert.deepEqual(
        peersFound.map((p) => p?.name),
        Array(20).fill('fetch-renamed'),
      );
      assert.deepEqual(new Set(peersFound.map((p) => p?.pid)), new Set(children.map((c) => c.pid)));
    } finally {
      await Promise.all(children.map(exited));
      server.close();
    }
  });

  it('the macOS finder’s TCP path, run against Linux’s own lsof and ps', async () => {
    const peers = new ConnectionPeers(new DarwinPeerFinder(), 5_000);
    let found: PeerProcess | undefined;
    const srv = await listenOnce({ host: '127.0.0.1' }, async (s) => {
      found = await peers.of(s);
      s.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
    });
    const child = spawn(fetcher, ['-s', '-o', '/dev/null', `http://127.0.0.1:${srv.port}/`], {
      stdio: 'ignore',
    });
    try {
      await srv.done;
    } finally {
      await exited(child);
      srv.server.close();
    }
    assert.ok(found, 'lsof found the socket');
    assert.equal(found.pid, child.pid);
    assert.equal(found.name, 'fetch-renamed');
    assert.equal(found.parents[0]?.pid, process.pid);
  });
});

describe('lookup limits', () => {
  /** A finder that counts its calls and answers when told to. */
  function heldFinder() {
    let calls = 0;
    let release: (p: PeerProcess | undefined) => void = () => {};
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const finder: PeerFinder = {
      method: 'test',
      find: (_c, signal) => {
        calls++;
        return new Promise((resolve) => {
          release = resolve;
          started();
          signal.addEventListener('abort', () => resolve(undefined));
        });
      },
    };
    return { finder, running, calls: () => calls, release: (p?: PeerProcess) => release(p) };
  }

  it('looks up once per connection, however many requests it carries', async () => {
    const held = heldFinder();
    const peers = new ConnectionPeers(held.finder, 60_000);
    await oneLoopbackConnection(async (s) => {
      const first = peers.of(s);
      await held.running;
      held.release({ pid: 7, name: 'x', parents: [] });
      assert.equal((await first)?.pid, 7);
      assert.equal((await peers.of(s))?.pid, 7);
      assert.equal((await peers.of(s))?.pid, 7);
      s.end();
    });
    assert.equal(held.calls(), 1);
  });

  it('past the budget the program is unknown, and the lookup is stopped', async () => {
    const held = heldFinder();
    const peers = new ConnectionPeers(held.finder, 50);
    await oneLoopbackConnection(async (s) => {
      assert.equal(await peers.of(s), undefined);
      s.end();
    });
    assert.equal(held.calls(), 1);
  });

  it('no lookup when there is no finder for this OS', async () => {
    const peers = new ConnectionPeers(null);
    await oneLoopbackConnection(async (s) => {
      assert.equal(await peers.of(s), undefined);
      s.end();
    });
  });
});
