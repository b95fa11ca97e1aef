// A Unix socket name forging the agent socket's peer (review 2, issue #19).
// peer-finder-linux.ts asks `ss -xnH` for the peer of our end of a local-socket connection.
// ss prints socket names raw: a name holding newlines (an abstract name, which ANY local
// user can bind, or a path) prints whole lines of the binder's choosing. Reproduced with
// iproute2 6.1.0:
//   python3 -c 'import socket; n=b"\0evil\nu_str ESTAB 0 0 /run/user/1000/ssh-agent-proxy/agent.sock 111111 * 222222\nx"; …bind(n); listen; connect; accept…'
//   ss -xn  →  "u_str ESTAB 0      0      @evil"
//              "u_str ESTAB 0 0 /run/user/1000/ssh-agent-proxy/agent.sock 111111 * 222222"
//              "x 3083608            * 3083607       "
// Listed before the real row, the forged one would name any socket's holder (a real `git`
// of the user) as the peer. Our own row is always listed too (we hold the socket), so a
// second row claiming our inode — or a fragment that is no socket row — means unknown.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { unixPeerInodeIn } from '../../src/core/peer/peer-finder-linux.js';

const OURS = 111111;
const REAL_PEER = 111112;
const FORGED_PEER = 222222;
const AGENT = '/run/user/1000/ssh-agent-proxy/agent.sock';
const realRows = [
  `u_str ESTAB 0      0      ${AGENT} ${OURS}            * ${REAL_PEER}       `,
  `u_str ESTAB 0      0      * ${REAL_PEER}            * ${OURS}       `,
];

describe('ss output forged by a socket name', () => {
  it('a forged row with broken fragments around it: unknown, never the forged peer', () => {
    const ssOutput = [
      'u_str ESTAB 0      0      @evil',
      `u_str ESTAB 0 0 ${AGENT} ${OURS} * ${FORGED_PEER}`,
      'x 3083608            * 3083607       ',
      ...realRows,
      '',
    ].join('\n');
    assert.equal(unixPeerInodeIn(ssOutput, OURS), undefined);
  });

  it('a forged row whose fragments are well-formed rows too: two claims, unknown', () => {
    // name = "x 1 * 2\n<forged row>\nu_str ESTAB 0 0 y": every printed line is a valid row.
    const ssOutput = [
      'u_str LISTEN 0      128    @x 1 * 2',
      `u_str ESTAB 0 0 ${AGENT} ${OURS} * ${FORGED_PEER}`,
      'u_str ESTAB 0 0 y 3083608            * 3083607       ',
      ...realRows,
    ].join('\n');
    assert.equal(unixPeerInodeIn(ssOutput, OURS), undefined);
    // The forged row listed after the real one changes nothing.
    const after = [...realRows, `u_str ESTAB 0 0 ${AGENT} ${OURS} * ${FORGED_PEER}`].join('\n');
    assert.equal(unixPeerInodeIn(after, OURS), undefined);
  });

  it('the honest output still names the real peer', () => {
    assert.equal(unixPeerInodeIn(realRows.join('\n'), OURS), REAL_PEER);
    assert.equal(unixPeerInodeIn(realRows.join('\n'), REAL_PEER), OURS);
  });

  it('every row of this host’s own `ss -xnH` reads as a socket row', (t) => {
    let out: string;
    try {
      out = execFileSync('ss', ['-xnH'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    } catch {
      return t.skip('no ss here');
    }
    const rows = out.split('\n').filter((l) => l.trim() !== '');
    // Each row's own inode, as ss printed it, is found again: the strict reading rejects
    // nothing real (a row whose name holds a newline on this host would fail, rightly).
    const own = rows
      .map((l) => /\s(\d+)\s+\S+\s+\d+\s*$/.exec(l)?.[1])
      .filter((x): x is string => !!x && Number(x) > 0);
    const once = own.filter((x, _, all) => all.indexOf(x) === all.lastIndexOf(x));
    assert.ok(once.length > 0, `no rows read from:\n${out.slice(0, 500)}`);
    for (const inode of once.slice(0, 50)) {
      const row = rows.find((l) => new RegExp(`\\s${inode}\\s+\\S+\\s+\\d+\\s*$`).test(l))!;
      const peer = Number(/(\d+)\s*$/.exec(row)![1]);
      assert.equal(unixPeerInodeIn(out, Number(inode)), peer > 0 ? peer : undefined, row);
    }
  });
});
