// Nothing a client sends can stop the proxy. Thousands of generated request lines, header
// sets and framings go over real TCP sockets to the built CLI running as a child process (a
// crash is the child exiting), with a real ssh-agent behind a recording relay. Every answer
// must be a well-formed HTTP/1.1 response whose error body is one line `code: sentence`
// (never a 500), or the connection is closed; the child lives; no garbage reaches the agent
// as a SIGN_REQUEST; nothing presented leaks into the log; and afterwards /healthz and a
// legitimate /sign still work, the signature checked by ssh-keygen.
//
// Why no garbage can sign: the garbage never carries the legitimate token. The only token
// it may carry is limited to a key that is not in the agent, so a request with it (and
// many are generated well-formed but for one part) passes the guards, the size check,
// `100 Continue` and the body read, and is still refused before the agent is asked to
// sign — unless the limits were lost, which is exactly what the zero-SIGN_REQUEST count
// would catch.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { agentWithKey, commitObject, createToken } from '../helpers/fixtures.js';
import { makeKey, run, tempDir, type TestKey } from '../helpers/openssh.js';
import { http, spawnConsole, type ConsoleProxy } from '../helpers/proxy.js';
import { startRecordingRelay, type RecordingRelay } from '../helpers/recording-relay.js';

const SIGN_REQUEST = 13;
const MAX_BODY = 4096;
/** How long one connection may go without being answered or closed: a hang, not slowness. */
const DEADLINE_MS = 30_000;
/** Generated connections, and how many are open at once. */
const CONNECTIONS = Number(process.env.FUZZ_CONNECTIONS ?? 2_500);
const SOCKETS = 48;
/** Planted in every garbage body and Authorization value: must never reach the log. */
const BODY_MARK = 'BODYSECRET';
const AUTH_MARK = 'AUTHSECRET';

let proxy: ConsoleProxy;
let relay: RecordingRelay;
let port: number;
let goodHost: string;
let token: string;
let limited: string;
let held: TestKey;
let dir: string;
let exited: string | null = null;

before(async () => {
  const a = await agentWithKey();
  dir = a.dir;
  held = a.key;
  // Made with ssh-keygen but never loaded into the agent: the limited token's only key.
  const absent = await makeKey(tempDir(), 'ed25519', 'absent');
  relay = await startRecordingRelay(dir, a.agent.sock);
  const cfg = join(dir, 'cfg');
  token = await createToken(cfg, 'legit');
  limited = await createToken(cfg, 'limited', '--key', absent.fingerprint);
  proxy = await spawnConsole({
    SSH_AGENT_PROXY_UPSTREAM: relay.sock,
    SSH_AGENT_PROXY_CONFIG_DIR: cfg,
    SSH_AGENT_PROXY_MAX_BODY: String(MAX_BODY),
    // Garbage that leaves a header or body unfinished is cut off soon (yet not so soon
    // that a loaded machine turns a legitimate request into a 408).
    SSH_AGENT_PROXY_HEADERS_TIMEOUT: '5',
    SSH_AGENT_PROXY_BODY_TIMEOUT: '5',
    SSH_AGENT_PROXY_RATE_BURST: '1000000',
    SSH_AGENT_PROXY_LOG_LEVEL: 'debug',
  });
  proxy.child.on('exit', (code, signal) => (exited = `code ${code} signal ${signal}`));
  port = Number(new URL(proxy.url).port);
  goodHost = `127.0.0.1:${port}`;
});

function assertAlive(): void {
  assert.equal(exited, null, `the proxy process exited (${exited}); its log:\n${proxy.stderr()}`);
}

// ---- Talking raw HTTP/1.1 -------------------------------------------------------------

type Ending = 'keep-open' | 'half-close' | 'early-close' | 'wait';

/** Ends a connection from our side once the server answered what came before it. */
const SENTINEL = () => `GET /healthz HTTP/1.1\r\nHost: ${goodHost}\r\nConnection: close\r\n\r\n`;

/**
 * Write `pieces` one after another (each once the previous has left), then:
 * `keep-open` sends a closing /healthz and waits for the server to close; `half-close`
 * shuts our sending side and waits for the server to close; `wait` just waits for the
 * server to close; `early-close` drops the connection. Resolves with every byte the
 * server sent; rejects if the server does not close within the deadline (a hang) or the
 * connection is refused (the proxy is gone).
 */
function exchange(pieces: Buffer[], ending: Ending): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock: Socket = connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new Error(
          `no close within ${DEADLINE_MS / 1000} s (${ending}); got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`,
        ),
      );
    }, DEADLINE_MS);
    const done = () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    };
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', done);
    // A reset (the server closed while we were still writing) is a close too; a refused
    // connection is not: the proxy is gone.
    let connected = false;
    sock.on('error', (err) => {
      if (!connected) {
        clearTimeout(timer);
        reject(err);
      }
    });
    sock.once('connect', async () => {
      connected = true;
      for (const p of pieces) {
        if (sock.destroyed || !sock.writable) return;
        await new Promise<void>((r) => sock.write(p, () => r()));
      }
      if (sock.destroyed || !sock.writable) return;
      if (ending === 'keep-open') sock.write(SENTINEL());
      else if (ending === 'half-close') sock.end();
      else if (ending === 'early-close') sock.destroy();
    });
  });
}

interface Answer {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** Split what the server sent into HTTP/1.1 responses; throws on anything malformed. */
function parseAnswers(data: Buffer): { answers: Answer[]; rest: Buffer } {
  const answers: Answer[] = [];
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [statusLine, ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 ([1-5]\d\d) [^\r\n]+$/.exec(statusLine!);
    if (!m) throw new Error(`malformed status line ${JSON.stringify(statusLine)}`);
    const headers = new Map<string, string>();
    for (const l of lines) {
      const h = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+): ?([^\r\n]*)$/.exec(l);
      if (!h) throw new Error(`malformed header line ${JSON.stringify(l)}`);
      headers.set(h[1]!.toLowerCase(), h[2]!);
    }
    const status = Number(m[1]);
    let bodyEnd = end + 4;
    if (status >= 200) {
      const length = headers.get('content-length');
      if (length === undefined || !/^\d+$/.test(length))
        throw new Error(`a ${status} answer without a Content-Length: ${statusLine}`);
      bodyEnd += Number(length);
      if (bodyEnd > data.length) break;
    }
    answers.push({ status, headers, body: data.subarray(end + 4, bodyEnd) });
    at = bodyEnd;
  }
  return { answers, rest: data.subarray(at) };
}

const ONE_LINE = /^[a-z][a-z0-9-]*: [^\r\n]+\n$/;

/** What any answer to garbage must look like; returns its `code` (or status) for the tally. */
function checkAnswer(a: Answer): string {
  const text = a.body.toString('utf8');
  assert.notEqual(a.status, 500, `a 500: ${text}`);
  if (a.status < 200) {
    assert.equal(a.status, 100, 'the only interim answer is 100 Continue');
    return '100';
  }
  assert.notEqual(
    a.headers.get('content-type'),
    'application/x-ssh-signature',
    'garbage was signed',
  );
  if (a.status < 300) {
    assert.equal(a.status, 200);
    return '200';
  }
  assert.ok(a.status >= 400, `status ${a.status}`);
  assert.match(text, ONE_LINE, `a ${a.status} body that is not one line "code: sentence"`);
  assert.match(a.headers.get('content-type') ?? '', /^text\/plain/);
  return `${a.status} ${text.split(':')[0]}`;
}

/** Send raw bytes, each answer checked; the answers, once the server closed. */
async function exchangeChecked(
  pieces: Buffer[],
  ending: Ending,
  tally?: Map<string, number>,
): Promise<Answer[]> {
  const data = await exchange(pieces, ending);
  const { answers, rest } = parseAnswers(data);
  for (const a of answers) {
    const code = checkAnswer(a);
    tally?.set(code, (tally.get(code) ?? 0) + 1);
  }
  // A connection we dropped may cut an answer short; one the server closed may not.
  if (ending !== 'early-close')
    assert.equal(rest.length, 0, `bytes after the last answer: ${rest.toString('latin1')}`);
  return answers;
}

// ---- Generators ----------------------------------------------------------------------

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ROUTES = ['/sign', '/publickey', '/keys', '/healthz', '/shim'];

/** The first value most of the time (19 in 20), one of the others otherwise. */
function mostly<T>(usual: T, ...odd: T[]): fc.Arbitrary<T> {
  return fc.oneof(
    { weight: 19, arbitrary: fc.constant(usual) },
    { weight: 1, arbitrary: fc.constantFrom(...odd) },
  );
}

function arbitraries() {
  const text = (maxLength: number) =>
    fc.oneof(
      fc.string({ maxLength }),
      fc.string({ unit: 'grapheme', maxLength }),
      fc.string({ unit: 'binary', maxLength }),
    );
  const method = fc
    .oneof(
      { weight: 16, arbitrary: fc.constantFrom('GET', 'POST') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'PUT',
          'DELETE',
          'OPTIONS',
          'PATCH',
          'CONNECT',
          'TRACE',
          'PRI',
          'get',
          'post',
          'M-SEARCH',
          'PROPFIND',
          'GET\0',
          '',
        ),
      },
      { weight: 1, arbitrary: text(8) },
    )
    // A HEAD answer carries a Content-Length but no body: the parser here could not
    // tell where the next answer starts.
    .filter((m) => m !== 'HEAD');

  const queryPart = fc
    .tuple(
      fc.constantFrom('namespace', 'key', 'token', 'access_token', 'x', '', '%zz', 'namespace[]'),
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom(
            'git',
            'file',
            '',
            '%zz',
            '%00',
            'SHA256:x',
            'a'.repeat(300),
            '..',
          ),
        },
        { weight: 3, arbitrary: text(12).map(encodeURIComponent) },
        // Raw: Node's parser refuses most non-ASCII and spaces in a target.
        { weight: 1, arbitrary: text(12) },
      ),
    )
    .map(([k, v]) => `${k}=${v}`);
  const target = fc.oneof(
    {
      weight: 10,
      arbitrary: fc
        .tuple(
          fc.oneof(
            { weight: 6, arbitrary: fc.constant('/sign') },
            { weight: 3, arbitrary: fc.constantFrom(...ROUTES) },
            {
              weight: 1,
              arbitrary: fc.constantFrom(
                '/',
                '/sign/',
                '/SIGN',
                '/sign/../keys',
                '/./sign',
                '/nope',
              ),
            },
          ),
          fc.oneof(
            { weight: 2, arbitrary: fc.constant([]) },
            { weight: 1, arbitrary: fc.array(queryPart, { minLength: 1, maxLength: 4 }) },
          ),
          mostly('', '#frag', '?', '&'),
        )
        .map(([p, q, tail]) => (q.length ? `${p}?${q.join('&')}${tail}` : `${p}${tail}`)),
    },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '//[',
        '//x/sign',
        '//127.0.0.1/sign',
        'http://evil/sign',
        `http://127.0.0.1/sign`,
        'https://x/healthz',
        'sign',
        '*',
        '%zz',
        '/%zz',
        '/sign%00',
        '/sign\0',
        '/[',
        '/\u00e9',
        '/sign\u202e',
        '/sign?namespace=git&namespace=file',
        '/sign?key=&key=',
        '/publickey?key=a&key=b',
        '127.0.0.1:443',
        '',
        ' ',
        '/healthz HTTP/1.1\r\nX-Injected: 1\r\nX-Also:',
        '/sign HTTP/1.1\r\n\r\nGET /healthz',
        '/healthz\r\n',
        '/healthz\n\n',
        `/${'a'.repeat(20_000)}`,
        `/sign?${'namespace=git&'.repeat(2_000)}`,
      ),
    },
    { weight: 1, arbitrary: text(40) },
    { weight: 1, arbitrary: text(20).map((t) => `/${t}`) },
  );
  const version = fc.oneof(
    { weight: 16, arbitrary: fc.constant('HTTP/1.1') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'HTTP/1.0',
        'HTTP/2.0',
        'HTTP/1.2',
        'HTTP/9.9',
        'http/1.1',
        'HTTP/1.1 x',
        'HTTP/1',
        '',
      ),
    },
  );

  const host: fc.Arbitrary<readonly string[]> = fc.oneof(
    { weight: 14, arbitrary: fc.constant([goodHost]) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        [],
        ['evil.example'],
        [`evil.example:${port}`],
        [`127.0.0.1:${port + 1}`],
        [''],
        [`${goodHost}\0`],
        [`${goodHost} `],
        [`LOCALHOST:${port}`],
        [goodHost, 'evil.example'],
        ['evil.example', goodHost],
        [goodHost, goodHost],
      ),
    },
    { weight: 1, arbitrary: text(20).map((t) => [t]) },
  );
  const browser = fc.oneof(
    { weight: 8, arbitrary: fc.constant<[string, string][]>([]) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<[string, string][]>(
        [['Origin', 'null']],
        [['Origin', 'https://evil.example']],
        [['Origin', '']],
        [['Sec-Fetch-Site', 'cross-site']],
        [['Sec-Fetch-Site', 'none']],
      ),
    },
  );
  // Never the legitimate token: only the key-limited one, garbage, or both.
  const authorization: fc.Arbitrary<readonly string[]> = fc.oneof(
    { weight: 2, arbitrary: fc.constant([]) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        [`Bearer ${limited}`],
        [`bearer ${limited}`],
        [`Basic ${b64(`box:${limited}`)}`],
        [`Basic ${b64(`:${limited}`)}`],
      ),
    },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        [`Bearer ${limited} extra`],
        [`Bearer ${limited}`, `Bearer ${limited}`],
        [`Bearer ${limited}`, `Bearer sap_${AUTH_MARK}`],
        [`Bearer sap_${AUTH_MARK}`],
        [`Bearer ${AUTH_MARK}${'a'.repeat(300)}`],
        [`Bearer ${AUTH_MARK}${'a'.repeat(12_000)}`],
        [`Basic ${b64(`${AUTH_MARK}-no-colon`)}`],
        [`Basic ${b64(`x:${AUTH_MARK}`)}`],
        [`Basic !!${AUTH_MARK}`],
        [`Token ${AUTH_MARK}`],
        ['Bearer'],
        ['Bearer '],
        [''],
      ),
    },
    { weight: 1, arbitrary: text(30).map((t) => [`Bearer ${AUTH_MARK}${t}`]) },
    { weight: 1, arbitrary: text(30).map((t) => [`${AUTH_MARK}${t}`]) },
  );
  const keyHeader: fc.Arbitrary<readonly string[]> = fc.oneof(
    { weight: 6, arbitrary: fc.constant([]) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        [held.fingerprint],
        ['SHA256:garbage'],
        [''],
        ['\u00e9\u202e'],
        [held.fingerprint, held.fingerprint],
        [held.line],
      ),
    },
    { weight: 1, arbitrary: text(20).map((t) => [t]) },
  );
  const expect: fc.Arbitrary<readonly string[]> = fc.oneof(
    { weight: 3, arbitrary: fc.constant([]) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(['100-continue'], ['100-Continue'], ['100-continue, foo']),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        ['bogus'],
        [''],
        ['100-continue', '100-continue'],
        ['100-continued'],
      ),
    },
  );
  const connectionHeader = fc.constantFrom<[string, string][]>(
    [],
    [],
    [],
    [['Connection', 'close']],
    [['Connection', 'keep-alive']],
    [
      ['Connection', 'upgrade'],
      ['Upgrade', 'websocket'],
    ],
    [
      ['Connection', 'Upgrade, HTTP2-Settings'],
      ['Upgrade', 'h2c'],
    ],
  );
  const extra = fc.oneof(
    { weight: 6, arbitrary: fc.constant([]) },
    {
      weight: 2,
      arbitrary: fc.array(
        fc.tuple(
          fc.constantFrom('X-A', 'Content-Type', 'Cookie', 'Trailer', 'Te', 'X-Forwarded-For'),
          fc.string({ maxLength: 20 }),
        ),
        { maxLength: 3 },
      ),
    },
    { weight: 1, arbitrary: fc.array(fc.tuple(text(10), text(20)), { maxLength: 2 }) },
  );

  // Body bytes and how they are framed.
  const payload = fc.oneof(
    fc.constant(''),
    text(60).map((t) => `${BODY_MARK} ${t}`),
    text(30).map((t) => commitObject(`${BODY_MARK} ${t}`).toString('utf8')),
    fc.constant(`${BODY_MARK}${'x'.repeat(MAX_BODY)}`),
  );
  const chunked = (b: string) => {
    const n = Buffer.byteLength(b);
    return n ? `${n.toString(16)}\r\n${b}\r\n0\r\n\r\n` : '0\r\n\r\n';
  };
  const framing = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('length', 'length', 'chunked') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'none',
        'length-short',
        'length-long',
        'length-negative',
        'length-huge',
        'length-over-limit',
        'length-dup',
        'length-conflict',
        'length-and-chunked',
        'chunked-broken',
        'chunked-extension',
        'chunked-trailer',
        'chunked-huge',
        'chunked-extension-huge',
        'te-odd',
      ),
    },
  );
  const frame = (b: string, f: string): { headers: string[][]; bytes: string } => {
    const n = Buffer.byteLength(b);
    const cl = (v: string) => ['Content-Length', v];
    const te = (v: string) => ['Transfer-Encoding', v];
    switch (f) {
      case 'length':
        return { headers: [cl(String(n))], bytes: b };
      case 'chunked':
        return { headers: [te('chunked')], bytes: chunked(b) };
      case 'none':
        return { headers: [], bytes: b };
      case 'length-short':
        return { headers: [cl(String(n + 7))], bytes: b };
      case 'length-long':
        return { headers: [cl(String(Math.max(0, n - 3)))], bytes: b };
      case 'length-negative':
        return { headers: [cl('-1')], bytes: b };
      case 'length-huge':
        return { headers: [cl('99999999999999999999999')], bytes: b };
      case 'length-over-limit':
        return { headers: [cl(String(MAX_BODY + 1))], bytes: b };
      case 'length-dup':
        return { headers: [cl(String(n)), cl(String(n))], bytes: b };
      case 'length-conflict':
        return { headers: [cl(String(n)), cl(String(n + 1))], bytes: b };
      case 'length-and-chunked':
        return { headers: [cl(String(n)), te('chunked')], bytes: chunked(b) };
      case 'chunked-broken':
        return { headers: [te('chunked')], bytes: `zz\r\n${b}\r\n5\r\nab` };
      case 'chunked-trailer':
        return {
          headers: [te('chunked')],
          bytes: `${chunked(b).slice(0, -2)}X-Trailer: 1\r\n\r\n`,
        };
      case 'chunked-extension':
        return { headers: [te('chunked')], bytes: `${chunked(b).replace('\r\n', ';x=1\r\n')}` };
      case 'chunked-extension-huge':
        return {
          headers: [te('chunked')],
          bytes: chunked(b).replace('\r\n', `;x=${'e'.repeat(20_000)}\r\n`),
        };
      case 'chunked-huge':
        return { headers: [te('chunked')], bytes: `ffffffffffffffffff\r\n${b}` };
      default:
        return { headers: [te('gzip, chunked'), te('identity')], bytes: chunked(b) };
    }
  };
  const body = fc.tuple(payload, framing).map(([b, f]) => frame(b, f));
  const goodPayload = fc.oneof(
    text(60).map((t) => `${BODY_MARK} ${t}`),
    text(30).map((t) => commitObject(`${BODY_MARK} ${t}`).toString('utf8')),
  );

  const parts = {
    method,
    target,
    version,
    sep: mostly(' ', '  ', '\t', ' \0 '),
    eol: mostly('\r\n', '\n', '\r', '\n\r'),
    host,
    browser,
    authorization,
    keyHeader,
    expect,
    connection: connectionHeader,
    extra,
    body,
  };
  const anything = fc.record(parts);
  type Parts = typeof anything extends fc.Arbitrary<infer T> ? T : never;
  // What the limited token may well send, and the same with one part generated: these get
  // past the guards to `100 Continue`, the body, the key choice and the errors there.
  const wellFormed: fc.Arbitrary<Parts> = fc.record({
    method: fc.constant('POST'),
    target: fc.constantFrom('/sign', '/sign?namespace=git'),
    version: fc.constant('HTTP/1.1'),
    sep: fc.constant(' '),
    eol: fc.constant('\r\n'),
    host: fc.constant([goodHost]),
    browser: fc.constant([]),
    authorization: fc.constant([`Bearer ${limited}`]),
    keyHeader: fc.constant([]),
    expect: fc.constantFrom([], ['100-continue']),
    connection: fc.constant([]),
    extra: fc.constant([]),
    body: fc.tuple(goodPayload, fc.constantFrom('length', 'chunked')).map(([b, f]) => frame(b, f)),
  });
  const names = Object.keys(parts) as (keyof Parts)[];
  const oneOff = fc
    .tuple(wellFormed, anything, fc.constantFrom(...names))
    .map(([w, r, k]): Parts => ({ ...w, [k]: r[k] }));
  const request = fc.oneof(anything, oneOff, wellFormed).chain((r) => {
    const headers: string[][] = [
      ...r.host.map((v) => ['Host', v]),
      ...r.browser,
      ...r.authorization.map((v) => ['Authorization', v]),
      ...r.keyHeader.map((v) => ['X-SSH-Agent-Proxy-Key', v]),
      ...r.expect.map((v) => ['Expect', v]),
      ...r.connection,
      ...r.extra,
      ...r.body.headers,
    ];
    return fc
      .shuffledSubarray(headers, { minLength: headers.length, maxLength: headers.length })
      .map((shuffled) => {
        const line = [r.method, r.target, r.version].join(r.sep);
        const head = [line, ...shuffled.map(([k, v]) => `${k}: ${v}`)].join(r.eol);
        return Buffer.from(`${head}${r.eol}${r.eol}${r.body.bytes}`, 'utf8');
      });
  });

  // One connection: 1-3 pipelined requests, split at random byte boundaries, ended somehow.
  const connection = fc
    .record({
      requests: fc.array(request, { minLength: 1, maxLength: 3 }),
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
      ending: fc.constantFrom<Ending>(
        'keep-open',
        'keep-open',
        'keep-open',
        'half-close',
        'early-close',
      ),
    })
    .map(({ requests, cuts, ending }) => {
      const all = Buffer.concat(requests);
      // An early close drops the connection partway: after the last cut.
      const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((x, y) => x - y);
      const end = ending === 'early-close' ? (points.at(-1) ?? 0) : all.length;
      const bounds = [0, ...points.filter((p) => p < end), end];
      const pieces = bounds.slice(1).map((b, i) => all.subarray(bounds[i], b));
      const kept = pieces.filter((p) => p.length > 0);
      // A counterexample printed as readable, bounded text rather than byte arrays.
      const shown = () =>
        JSON.stringify({
          ending,
          pieces: kept.map((p) => {
            const t = p.toString('latin1');
            return t.length > 300 ? `${t.slice(0, 300)}…(${t.length} bytes)` : t;
          }),
        });
      return { pieces: kept, ending, show: shown, [fc.toStringMethod]: shown };
    });
  return { connection };
}

// ---- The tests -------------------------------------------------------------------------

async function healthy(): Promise<void> {
  const h = await http(`${proxy.url}/healthz`);
  assert.equal(h.status, 200);
  assert.equal(h.text, 'ok\n');
}

/** ssh-keygen accepts `sig` as a git-namespace signature over `msg`. */
async function checkSignature(sig: Buffer, msg: Buffer, name: string): Promise<void> {
  const file = join(dir, `${name}.sig`);
  writeFileSync(file, sig);
  const check = await run('ssh-keygen', ['-Y', 'check-novalidate', '-n', 'git', '-s', file], {
    input: msg,
  });
  assert.equal(check.code, 0, check.stderr);
}

async function legitSign(name: string): Promise<void> {
  const msg = commitObject(`legitimate ${name}`);
  const before13 = relay.count(SIGN_REQUEST);
  const r = await http(`${proxy.url}/sign`, {
    method: 'POST',
    body: msg,
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 200, r.text);
  await checkSignature(r.body, msg, name);
  assert.equal(relay.count(SIGN_REQUEST), before13 + 1, 'the relay sees a real signing');
}

const req = (lines: string[], body = '') => Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);

describe('targeted regressions', () => {
  it('GET //[ with a good Host → 400 bad-request-target, and the process lives', async () => {
    for (const target of ['//[', '//[::1', '//x/sign', '//']) {
      const [a] = await exchangeChecked(
        [req([`GET ${target} HTTP/1.1`, `Host: ${goodHost}`, 'Connection: close'])],
        'keep-open',
      );
      assert.equal(a?.status, 400, target);
      assert.match(a.body.toString(), /^bad-request-target: /);
    }
    assertAlive();
    await healthy();
  });

  it('absolute-form POST http://evil/sign with a valid token and body → 400, the agent untouched', async () => {
    const before13 = relay.count(SIGN_REQUEST);
    const msg = commitObject('absolute form');
    for (const target of ['http://evil/sign', `http://${goodHost}/sign`, 'https://evil/sign']) {
      const [a] = await exchangeChecked(
        [
          req(
            [
              `POST ${target} HTTP/1.1`,
              `Host: ${goodHost}`,
              `Authorization: Bearer ${token}`,
              `Content-Length: ${msg.length}`,
              'Connection: close',
            ],
            msg.toString(),
          ),
        ],
        'keep-open',
      );
      assert.equal(a?.status, 400, target);
      assert.match(a.body.toString(), /^bad-request-target: /);
    }
    assert.equal(relay.count(SIGN_REQUEST), before13);
    assertAlive();
  });

  it('what Node refuses before any handler runs is answered in the same one-line form, then closed', async () => {
    const cases: [string, Buffer, number, string][] = [
      ['an HTTP/1.1 request without Host', req(['GET /healthz HTTP/1.1']), 400, 'missing-host'],
      [
        'a negative Content-Length',
        req(['POST /sign HTTP/1.1', `Host: ${goodHost}`, 'Content-Length: -1']),
        400,
        'bad-request',
      ],
      [
        'Content-Length with Transfer-Encoding',
        req(
          [
            'POST /sign HTTP/1.1',
            `Host: ${goodHost}`,
            'Content-Length: 3',
            'Transfer-Encoding: chunked',
          ],
          '0\r\n\r\n',
        ),
        400,
        'bad-request',
      ],
      [
        'a NUL in the request line',
        req([`GET /healthz\0 HTTP/1.1`, `Host: ${goodHost}`]),
        400,
        'bad-request',
      ],
      [
        'an invalid method',
        req([`G(T /healthz HTTP/1.1`, `Host: ${goodHost}`]),
        400,
        'bad-request',
      ],
      [
        'headers over 16 KiB',
        req(['GET /healthz HTTP/1.1', `Host: ${goodHost}`, `X-Big: ${'a'.repeat(20_000)}`]),
        431,
        'headers-too-large',
      ],
      [
        'an expectation other than 100-continue',
        req([
          'POST /sign HTTP/1.1',
          `Host: ${goodHost}`,
          `Authorization: Bearer ${token}`,
          'Expect: 200-ok',
          'Content-Length: 5',
        ]),
        417,
        'expectation-failed',
      ],
    ];
    for (const [what, bytes, status, code] of cases) {
      const answers = await exchangeChecked([bytes], 'half-close');
      assert.equal(answers.length, 1, what);
      assert.equal(answers[0]!.status, status, what);
      assert.match(answers[0]!.body.toString(), new RegExp(`^${code}: `), what);
    }
    assertAlive();
  });

  it('HEAD (left out of the fuzz: its answer has a length but no body) is refused without a body', async () => {
    for (const path of ['/sign', '/healthz', '//[']) {
      const data = (
        await exchange(
          [req([`HEAD ${path} HTTP/1.1`, `Host: ${goodHost}`, 'Connection: close'])],
          'wait',
        )
      ).toString('latin1');
      assert.match(data, /^HTTP\/1\.1 (405|400) [^\r\n]+\r\n/, path);
      assert.ok(data.endsWith('\r\n\r\n'), `${path}: a body after the head`);
    }
    assertAlive();
  });

  it('an HTTP/1.0 request ignores Expect: 100-continue (RFC 9110): no 100, just the answer', async () => {
    const msg = commitObject('http/1.0 expect');
    const { answers, rest } = parseAnswers(
      await exchange(
        [
          req(
            [
              'POST /sign HTTP/1.0',
              `Host: ${goodHost}`,
              `Authorization: Bearer ${token}`,
              'Expect: 100-continue',
              `Content-Length: ${msg.length}`,
            ],
            msg.toString(),
          ),
        ],
        // An HTTP/1.0 connection closes after its answer; nothing may follow the request.
        'wait',
      ),
    );
    assert.equal(rest.length, 0);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200],
    );
    await checkSignature(answers[0]!.body, msg, 'http10');
  });

  it('garbage pipelined behind a request still being handled: one-line answers, the process lives', async () => {
    const msg = commitObject(`${BODY_MARK} pipelined`);
    const first = req(
      [
        'POST /sign HTTP/1.1',
        `Host: ${goodHost}`,
        `Authorization: Bearer ${limited}`,
        `Content-Length: ${msg.length}`,
      ],
      msg.toString(),
    );
    for (const garbage of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
    ]) {
      for (const ending of ['keep-open', 'half-close'] as const) {
        const answers = await exchangeChecked(
          [Buffer.concat([first, Buffer.from(garbage)])],
          ending,
        );
        // The parser's refusal may overtake the answer still being worked out.
        assert.ok(answers.length >= 1, garbage);
        assert.ok(
          answers.some((a) => a.status === 400 && a.body.toString().startsWith('bad-request: ')),
          `${ending}: ${answers.map((a) => a.status).join(',')}`,
        );
      }
    }
    assertAlive();
    await healthy();
  });

  describe('Expect: 100-continue is answered only once every guard passed', () => {
    const headersOnly = (over: Record<string, string | null>) => {
      const h: Record<string, string | null> = {
        Host: goodHost,
        Authorization: `Bearer ${token}`,
        Expect: '100-continue',
        'Content-Length': '200',
        ...over,
      };
      const lines = ['POST /sign HTTP/1.1'];
      for (const [k, v] of Object.entries(h)) if (v !== null) lines.push(`${k}: ${v}`);
      return req(lines);
    };
    const refused: [string, Record<string, string | null>, number, string][] = [
      ['a bad Host', { Host: 'evil.example' }, 421, 'bad-host'],
      ['a browser Origin', { Origin: 'https://evil.example' }, 403, 'browser-refused'],
      ['no token (one is required)', { Authorization: null }, 401, 'token-required'],
      ['a bad token', { Authorization: `Bearer sap_${AUTH_MARK}` }, 401, ''],
      ['a malformed Authorization', { Authorization: `Basic !!${AUTH_MARK}` }, 401, 'bad-token'],
      [
        'an over-limit Content-Length',
        { 'Content-Length': String(MAX_BODY + 1) },
        413,
        'too-large',
      ],
      ['a bad target', {}, 400, 'bad-request-target'],
    ];
    for (const [what, over, status, code] of refused) {
      it(`${what} → ${status}${code ? ` ${code}` : ''}, no 100 Continue before it`, async () => {
        const before13 = relay.count(SIGN_REQUEST);
        let bytes = headersOnly(over);
        if (what === 'a bad target')
          bytes = Buffer.from(bytes.toString().replace('POST /sign', 'POST //x/sign'));
        // Headers only: the body is never sent, so only a refusal (and close) can end this.
        const data = await exchange([bytes], 'half-close');
        assert.doesNotMatch(data.toString('latin1'), /HTTP\/1\.1 100/);
        const { answers, rest } = parseAnswers(data);
        assert.equal(rest.length, 0);
        assert.equal(answers.length, 1, data.toString('latin1'));
        assert.equal(answers[0]!.status, status);
        checkAnswer(answers[0]!);
        if (code) assert.match(answers[0]!.body.toString(), new RegExp(`^${code}: `));
        assert.equal(relay.count(SIGN_REQUEST), before13);
      });
    }

    it('everything valid → 100 Continue, then after the body 200 with a signature ssh-keygen accepts', async () => {
      const msg = commitObject('expect continue');
      const before13 = relay.count(SIGN_REQUEST);
      const got = await new Promise<Buffer>((resolve, reject) => {
        const sock = connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        let sentBody = false;
        const timer = setTimeout(() => {
          sock.destroy();
          reject(new Error(`no answer: ${Buffer.concat(chunks).toString('latin1')}`));
        }, DEADLINE_MS);
        sock.on('data', (c: Buffer) => {
          chunks.push(c);
          const seen = Buffer.concat(chunks).toString('latin1');
          // The body goes only once the interim answer is complete.
          if (!sentBody && seen.includes('\r\n\r\n')) {
            sentBody = true;
            if (seen === 'HTTP/1.1 100 Continue\r\n\r\n') sock.write(msg);
            else sock.end();
          }
        });
        sock.on('error', reject);
        sock.on('close', () => {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks));
        });
        sock.write(
          headersOnly({
            'Content-Length': String(msg.length),
            Connection: 'close',
            Host: goodHost,
          }),
        );
      });
      const { answers, rest } = parseAnswers(got);
      assert.equal(rest.length, 0);
      assert.deepEqual(
        answers.map((a) => a.status),
        [100, 200],
      );
      assert.equal(answers[1]!.headers.get('content-type'), 'application/x-ssh-signature');
      await checkSignature(answers[1]!.body, msg, 'continue');
      assert.equal(relay.count(SIGN_REQUEST), before13 + 1);
    });
  });
});

describe('fuzz: generated garbage over real sockets', () => {
  it('every connection is answered well-formed or closed, the child lives, 0 SIGN_REQUESTs', async (t) => {
    const { connection } = arbitraries();
    // fast-check generates the connections up front (FUZZ_SEED replays a run); a pool of
    // sockets sends them, so the few that wait out a deadline do not hold up the rest.
    const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const cases = fc.sample(connection, { numRuns: CONNECTIONS, seed });
    t.diagnostic(`seed ${seed}: FUZZ_SEED=${seed} replays this run`);
    const tally = new Map<string, number>();
    const before13 = relay.count(SIGN_REQUEST);
    const failures: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: SOCKETS }, async () => {
        while (next < cases.length && failures.length === 0) {
          const i = next++;
          const c = cases[i]!;
          try {
            await exchangeChecked(c.pieces, c.ending, tally);
            assertAlive();
          } catch (err) {
            failures.push(
              `connection ${i} of seed ${seed}: ${(err as Error).message}\n${c.show()}`,
            );
          }
        }
      }),
    );
    assert.deepEqual(failures, []);
    t.diagnostic(`answers: ${JSON.stringify([...tally].sort())}`);
    assertAlive();
    assert.equal(relay.count(SIGN_REQUEST) - before13, 0, 'garbage reached the agent as a sign');
    // The generator reached past every guard: limited-token requests were admitted, told
    // to continue, had their bodies read, and were refused only when a key was chosen.
    for (const code of [
      '400 bad-request',
      '400 bad-request-target',
      '421 bad-host',
      '403 browser-refused',
      '401 token-required',
      '401 bad-token',
      '413 too-large',
      '100',
    ])
      assert.ok(tally.has(code), `no "${code}" answer was provoked`);
    assert.ok(
      [...tally.keys()].some((k) => / key-/.test(k)),
      'no request got as far as choosing a key',
    );
  });

  it('afterwards: /healthz is 200 and a legitimate /sign verifies', async () => {
    assertAlive();
    await healthy();
    await legitSign('after-fuzz');
  });

  it('nothing presented reached the log: no token, no payload, no stack, no unexpected error', () => {
    const log = proxy.stderr();
    assert.ok(!log.includes(token), 'the legitimate token');
    assert.ok(!log.includes(limited), 'the limited token');
    assert.ok(!log.includes(AUTH_MARK), 'a presented Authorization value');
    assert.ok(!log.includes(BODY_MARK), 'a request body');
    assert.doesNotMatch(log, /^\s+at /m, 'a stack trace');
    assert.doesNotMatch(log, /internal-error|failed:/, 'an unexpected exception');
    assertAlive();
  });
});
