// A container's name from its engine's API socket. No engine runs here, so a stand-in
// serves the one call used, as Docker's Engine API documents it (GET /containers/{id}/json
// → 200 with "Name": "/name", 404 for an unknown id); Podman's compatible API answers alike.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { engineSockets, nameContainer } from '../../src/core/peer/container-name.js';
import { describePeer } from '../../src/core/peer/peer-process.js';

const ID = '3f2a'.repeat(16);
let dir: string;
let engine: Server;
let sock: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sap-engine-'));
  sock = join(dir, 'docker.sock');
  engine = createServer((req, res) => {
    if (req.url === `/containers/${ID}/json`) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ Id: ID, Name: '/box1', State: { Running: true } }));
    }
    if (req.url?.startsWith('/containers/hang')) return; // never answers
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"message":"No such container"}');
  });
  await new Promise<void>((r) => engine.listen(sock, r));
});
after(() => {
  engine.closeAllConnections();
  engine.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('container names from the engine', () => {
  it('asks the socket DOCKER_HOST names and shows the name', async () => {
    const env = { DOCKER_HOST: `unix://${sock}` };
    const c = await nameContainer({ engine: 'docker', id: ID }, AbortSignal.timeout(5_000), env);
    assert.equal(c.name, 'box1');
    assert.equal(
      describePeer({ pid: 9, name: 'git', parents: [], container: c }),
      'git (pid 9) in docker container box1',
    );
  });

  it('an unknown id, no socket or an engine of another kind: the id is shown', async () => {
    const env = { DOCKER_HOST: `unix://${sock}` };
    const other = 'ab'.repeat(32);
    const c = await nameContainer({ engine: 'docker', id: other }, AbortSignal.timeout(5_000), env);
    assert.equal(c.name, undefined);
    assert.equal(
      describePeer({ pid: 9, name: 'git', parents: [], container: c }),
      `git (pid 9) in docker container ${other.slice(0, 12)}`,
    );
    const none = await nameContainer({ engine: 'docker', id: ID }, AbortSignal.timeout(5_000), {
      DOCKER_HOST: `unix://${join(dir, 'missing.sock')}`,
    });
    assert.equal(none.name, undefined);
    assert.deepEqual(engineSockets('kubernetes', {}), []);
  });

  it('a podman container is asked of the rootless podman socket first', () => {
    assert.deepEqual(engineSockets('podman', { XDG_RUNTIME_DIR: '/run/user/1000' }), [
      '/run/user/1000/podman/podman.sock',
      '/run/podman/podman.sock',
    ]);
  });

  it('an engine that does not answer is left when the budget ends', async () => {
    // Only ids of 64 hex digits are ever asked for (nothing else reaches the path).
    const c = await nameContainer(
      { engine: 'docker', id: 'hang/../../x' },
      AbortSignal.timeout(5_000),
      { DOCKER_HOST: `unix://${sock}` },
    );
    assert.equal(c.name, undefined);
    const ac = new AbortController();
    const hangId = 'cd'.repeat(32);
    const hanging = createServer(() => {});
    const hangSock = join(dir, 'hang.sock');
    await new Promise<void>((r) => hanging.listen(hangSock, r));
    try {
      const p = nameContainer({ engine: 'docker', id: hangId }, ac.signal, {
        DOCKER_HOST: `unix://${hangSock}`,
      });
      ac.abort();
      assert.equal((await p).name, undefined);
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });
});
