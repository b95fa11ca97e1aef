// The parsers behind the peer finders, on the texts the OS tools print — including the
// awkward ones: a command name with ") " in it, a path with spaces, a dead parent's pid
// reused on Windows, cgroup paths of each container engine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerFromCgroup } from '../../src/core/peer/cgroup-container.js';
import { parseLsof, parsePs } from '../../src/core/peer/peer-finder-darwin.js';
import {
  parseStat,
  procAddress,
  tcpInodeIn,
  unixPeerInodeIn,
} from '../../src/core/peer/peer-finder-linux.js';
import { chainFromCim, owningPid } from '../../src/core/peer/peer-finder-windows.js';
import { describePeer } from '../../src/core/peer/peer-process.js';

const ID = 'a'.repeat(40) + '0123456789abcdef01234567';

describe('Linux /proc texts', () => {
  it('reads a stat line whose name holds ") " and spaces', () => {
    const rest = Array.from({ length: 50 }, (_, i) => String(i + 3));
    rest[1] = '4321'; // ppid
    rest[19] = '987654'; // starttime
    const s = parseStat(`1234 (evil) 1 2 (x) ${rest.join(' ')}\n`);
    assert.deepEqual(s, { name: 'evil) 1 2 (x', ppid: 4321, startTime: '987654' });
    assert.equal(parseStat('garbage'), undefined);
  });

  it('finds the client end in /proc/net/tcp and tcp6, by address and both ports', () => {
    if (procAddress('0100007F') !== '127.0.0.1') return; // big-endian host: other byte order
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1C35 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0',
      '   1: 0200007F:C350 0100007F:1C35 01 00000000:00000000 00:00000000 00000000  1000        0 222 1 0',
      '   2: 0100007F:C350 0100007F:1C35 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0',
    ].join('\n');
    assert.equal(tcpInodeIn(tcp, '127.0.0.1', 0xc350, 0x1c35), 333);
    assert.equal(tcpInodeIn(tcp, '127.0.0.2', 0xc350, 0x1c35), 222);
    assert.equal(tcpInodeIn(tcp, '::ffff:127.0.0.1', 0xc350, 0x1c35), 333);
    assert.equal(tcpInodeIn(tcp, '127.0.0.1', 0xc350, 0x1c36), undefined);
    const tcp6 =
      '   0: 00000000000000000000000001000000:C350 00000000000000000000000001000000:1C35 01 0:0 0:0 0 1000 0 444 1 0';
    assert.equal(tcpInodeIn(tcp6, '::1', 0xc350, 0x1c35), 444);
  });

  it('reads the peer inode from ss -xn, a path with spaces included', () => {
    const ss = [
      'Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port',
      'u_str ESTAB  0      0      /run/a b/agent.sock 5001 * 5000',
      'u_str ESTAB  0      0      * 5000 * 5001',
    ].join('\n');
    assert.equal(unixPeerInodeIn(ss, 5001), 5000);
    assert.equal(unixPeerInodeIn(ss, 5000), 5001);
    assert.equal(unixPeerInodeIn(ss, 9), undefined);
  });

  it('names the container of each engine from its cgroup, and none outside one', () => {
    const cases: [string, string | undefined][] = [
      [`12:pids:/docker/${ID}`, 'docker'],
      [`0::/system.slice/docker-${ID}.scope`, 'docker'],
      [
        `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope/container`,
        'podman',
      ],
      [`0::/system.slice/cri-containerd-${ID}.scope`, 'containerd'],
      [`0::/kubepods.slice/kubepods-burstable.slice/crio-${ID}.scope`, 'cri-o'],
      [`11:memory:/kubepods/burstable/pod1234/${ID}`, 'kubernetes'],
      ['0::/user.slice/user-1000.slice/session-2.scope', undefined],
    ];
    for (const [text, engine] of cases) {
      const c = containerFromCgroup(text);
      assert.equal(c?.engine, engine, text);
      if (engine) assert.equal(c?.id, ID);
    }
  });
});

describe('macOS tool texts (lsof -F, ps)', () => {
  it('groups lsof fields by process and file', () => {
    const out = 'p42\ncgit\nR41\nf3\nn127.0.0.1:5000->127.0.0.1:7221\nf4\nd0xabc\nn->0xdef\n';
    const files = parseLsof(out);
    assert.equal(files.length, 2);
    assert.deepEqual(files[0], {
      pid: 42,
      command: 'git',
      ppid: 41,
      fd: '3',
      name: '127.0.0.1:5000->127.0.0.1:7221',
    });
    assert.equal(files[1]?.device, '0xabc');
  });

  it('reads ps rows whose command is a path with spaces', () => {
    const rows = parsePs(
      '  501   400 Fri Dec  4 13:00:00 2026     /Applications/My App.app/Contents/MacOS/My App\n',
    );
    assert.deepEqual(rows.get(501), {
      pid: 501,
      ppid: 400,
      startTime: 'Fri Dec 4 13:00:00 2026',
      command: '/Applications/My App.app/Contents/MacOS/My App',
      name: 'My App',
    });
  });
});

describe('Windows tool texts (netstat -ano, Win32_Process)', () => {
  it('takes the owning pid of the client end only', () => {
    const t = [
      '  TCP    127.0.0.1:7221         127.0.0.1:50123        ESTABLISHED     900',
      '  TCP    127.0.0.1:50123        127.0.0.1:7221         ESTABLISHED     4242',
      '  TCP    [::1]:50124            [::1]:7221             ESTABLISHED     77',
    ].join('\r\n');
    assert.equal(owningPid(t, '127.0.0.1:50123', 7221), 4242);
    assert.equal(owningPid(t, '[::1]:50124', 7221), 77);
    assert.equal(owningPid(t, '127.0.0.1:50123', 7222), undefined);
  });

  it('stops the parent chain at a parent younger than its child (a reused pid)', () => {
    const p = chainFromCim([
      { pid: 10, ppid: 9, name: 'git.exe', exe: 'C:\\git.exe', start: '2026-12-04T10:00:02Z' },
      { pid: 9, ppid: 8, name: 'bash.exe', exe: null, start: '2026-12-04T10:00:01Z' },
      { pid: 8, ppid: 1, name: 'impostor.exe', exe: null, start: '2026-12-04T11:00:00Z' },
    ]);
    assert.ok(p);
    assert.deepEqual(
      p.parents.map((q) => q.name),
      ['bash.exe'],
    );
    assert.equal(describePeer(p), 'git.exe (pid 10) ← bash.exe');
  });
});
