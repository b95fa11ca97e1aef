import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  defaultAgent,
  wellKnownAgents,
  WINDOWS_OPENSSH_PIPE,
} from '../../src/core/agent/agent-dialer.js';
import {
  ConfigError,
  defaultConfigDir,
  loadConfig,
  SETTINGS,
} from '../../src/core/config/config.js';
import { parseAddress } from '../../src/core/host-port.js';
import { tempDir } from '../helpers/openssh.js';
import { readFileSync } from 'node:fs';

describe('config', () => {
  it('defaults', () => {
    const c = loadConfig({
      env: { SSH_AGENT_PROXY_CONFIG_DIR: tempDir(), SSH_AUTH_SOCK: '/run/agent' },
    });
    assert.deepEqual(c.addr, { host: '127.0.0.1', port: 7221 });
    assert.equal(c.namespace, 'git');
    assert.deepEqual(c.namespaces, ['git']);
    assert.equal(c.maxBody, 16 << 20);
    assert.equal(c.signTimeout, 120_000);
    assert.deepEqual(c.agent, { path: '/run/agent', source: 'SSH_AUTH_SOCK' });
    assert.equal(c.origin.addr, 'default');
  });

  it('settings file < environment < flags', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'settings.json'),
      JSON.stringify({ addr: '127.0.0.1:1000', namespace: 'file', namespaces: ['file', 'x'] }),
    );
    const fileOnly = loadConfig({ env: { SSH_AGENT_PROXY_CONFIG_DIR: dir } });
    assert.equal(fileOnly.addr.port, 1000);
    assert.deepEqual(fileOnly.namespaces, ['file', 'x']);
    assert.equal(fileOnly.origin.addr, 'settings.json "addr"');
    const env = loadConfig({
      env: { SSH_AGENT_PROXY_CONFIG_DIR: dir, SSH_AGENT_PROXY_ADDR: '127.0.0.1:2000' },
    });
    assert.equal(env.addr.port, 2000);
    const flag = loadConfig({
      env: { SSH_AGENT_PROXY_CONFIG_DIR: dir, SSH_AGENT_PROXY_ADDR: '127.0.0.1:2000' },
      flags: { addr: '[::1]:3000' },
    });
    assert.deepEqual(flag.addr, { host: '::1', port: 3000 });
    assert.equal(flag.origin.addr, '--addr');
  });

  it('an invalid value names the layer that set it', () => {
    const dir = tempDir();
    const bad = (env: Record<string, string>, flags: Record<string, string> = {}) => {
      try {
        loadConfig({ env: { SSH_AGENT_PROXY_CONFIG_DIR: dir, ...env }, flags });
        return 'no error';
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.setting;
      }
    };
    assert.equal(bad({ SSH_AGENT_PROXY_ADDR: 'x' }), 'SSH_AGENT_PROXY_ADDR');
    assert.equal(bad({}, { 'sign-timeout': '0' }), '--sign-timeout');
    assert.equal(bad({ SSH_AGENT_PROXY_LOG_LEVEL: 'loud' }), 'SSH_AGENT_PROXY_LOG_LEVEL');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'settings.json'), JSON.stringify({ colour: 'blue' }));
    assert.equal(bad({ SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'sub') }), 'settings.json "colour"');
  });

  it('addresses', () => {
    assert.deepEqual(parseAddress('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
    assert.deepEqual(parseAddress('localhost:7221'), { host: 'localhost', port: 7221 });
    for (const bad of [
      '127.0.0.1',
      ':7221',
      '127.0.0.1:99999',
      'example.com:1',
      '::1:7221',
      '[1.2.3.4]:1',
    ]) {
      assert.throws(() => parseAddress(bad), Error, bad);
    }
  });

  it('config dir per OS', () => {
    assert.equal(
      defaultConfigDir({ platform: 'linux', env: {}, home: '/h' }),
      '/h/.config/ssh-agent-proxy',
    );
    assert.equal(
      defaultConfigDir({ platform: 'linux', env: { XDG_CONFIG_HOME: '/x' }, home: '/h' }),
      '/x/ssh-agent-proxy',
    );
    assert.equal(
      defaultConfigDir({ platform: 'darwin', env: {}, home: '/h' }),
      '/h/Library/Application Support/ssh-agent-proxy',
    );
    assert.match(
      defaultConfigDir({
        platform: 'win32',
        env: { APPDATA: 'C:\\Users\\a\\AppData\\Roaming' },
        home: 'C:\\Users\\a',
      }),
      /Roaming.ssh-agent-proxy$/,
    );
  });

  it('agent defaults: SSH_AUTH_SOCK, the Windows pipe, else the first well-known socket that exists', () => {
    assert.deepEqual(defaultAgent({ platform: 'win32', env: {}, home: 'C:\\h' }), {
      name: 'Windows OpenSSH agent',
      path: WINDOWS_OPENSSH_PIPE,
    });
    assert.equal(WINDOWS_OPENSSH_PIPE, '\\\\.\\pipe\\openssh-ssh-agent');
    const linux = {
      platform: 'linux' as const,
      env: { XDG_RUNTIME_DIR: '/run/user/1000' },
      home: '/h',
    };
    const gpg = '/run/user/1000/gnupg/S.gpg-agent.ssh';
    assert.deepEqual(
      defaultAgent(linux, (p) => p === gpg),
      { name: 'gpg-agent', path: gpg },
    );
    assert.deepEqual(
      defaultAgent(linux, (p) => p === gpg || p === '/h/.1password/agent.sock'),
      { name: '1Password', path: '/h/.1password/agent.sock' },
    );
    assert.equal(
      defaultAgent(linux, () => false),
      null,
    );
    const mac = wellKnownAgents({ platform: 'darwin', env: {}, home: '/Users/a' }).map(
      (a) => a.name,
    );
    assert.deepEqual(mac, ['1Password', 'Secretive', 'Bitwarden', 'gpg-agent']);
  });

  it('the README documents every setting', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const s of SETTINGS) assert.ok(readme.includes(s.env), `README lacks ${s.env}`);
  });
});
