// The settings that take one word of a list (src/core/config/settings-spec.ts, `oneOf`):
// each word is accepted as written, anything else (another case, a space, another word) is
// refused with one line that names the setting and lists the words.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/core/config/config.js';
import { tempDir } from '../helpers/openssh.js';

const WORD_SETTINGS = [
  ['SSH_AGENT_PROXY_APPROVAL', 'approval', ['prompt', 'allow', 'deny'], 'prompt, allow or deny'],
  ['SSH_AGENT_PROXY_AUDIT_SYNC', 'auditSync', ['write', 'fsync'], 'write or fsync'],
  [
    'SSH_AGENT_PROXY_CONSOLE_ALERT',
    'consoleAlert',
    ['notify', 'bell', 'off'],
    'notify, bell or off',
  ],
  [
    'SSH_AGENT_PROXY_LOG_LEVEL',
    'logLevel',
    ['debug', 'info', 'warn', 'error'],
    'debug, info, warn or error',
  ],
] as const;

describe('settings that take one word of a list', () => {
  const dir = tempDir();
  // `allow` without a token needs the opt-out; it is not what these tests are about.
  const load = (env: Record<string, string>) =>
    loadConfig({
      env: {
        SSH_AGENT_PROXY_CONFIG_DIR: dir,
        SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS: '',
        ...env,
      },
    });

  for (const [env, key, words, listed] of WORD_SETTINGS) {
    it(`${env}: ${listed}`, () => {
      for (const w of words) assert.equal(load({ [env]: w })[key], w);
      for (const w of [words[0].toUpperCase(), ` ${words[0]}`, `${words[0]}x`, 'x']) {
        assert.throws(
          () => load({ [env]: w }),
          (err: unknown) =>
            err instanceof ConfigError &&
            err.setting === env &&
            err.message === `${env}: "${w}" is not ${listed}`,
          `${env}=${JSON.stringify(w)}`,
        );
      }
    });
  }
});
