// What each IPC channel does, on top of the core. Plain Node (no electron import), so
// the renderer tests bind these very handlers to a real core. Every payload is checked
// here before it reaches the core: the renderer is not trusted to send the right shape.
import { discoverAgents } from '../core/agent/agent-discovery.js';
import type { PlatformInfo } from '../core/agent/agent-dialer.js';
import { ConfigError } from '../core/config/config.js';
import { containerSetup, RUNTIMES } from '../core/config/container-setup.js';
import type { RunningProxy } from '../core/proxy.js';
import type { SettingsValues } from '../core/config/settings-file.js';
import { parseDuration, TokenError } from '../core/approval/token-store.js';
import type { HandleChannel, MainHandles, SettingsPatch } from '../ipc-contract.js';
import type { AgentStatus } from './agent-status.js';
import { activityView } from './event-feed.js';
import { queueView, settingsView, tokenView } from './view-models.js';

export class IpcPayloadError extends Error {
  override name = 'IpcPayloadError';
}

export interface HandlerDeps {
  proxy: RunningProxy;
  platform: PlatformInfo;
  status: AgentStatus;
  loginItem: { get(): boolean; set(on: boolean): void };
  clipboard(text: string): void;
  closeWindow(senderId: number): void;
  /** Size the sender's window to its content, if it is the approval window. */
  fitWindow(senderId: number, contentHeight: number): void;
  openLogs(): void;
}

export interface CallContext {
  /** webContents id of the window that sent the message. */
  senderId: number;
}

export type Handlers = {
  [C in HandleChannel]: (
    payload: unknown,
    ctx: CallContext,
  ) => Promise<ReturnType<MainHandles[C]>> | ReturnType<MainHandles[C]>;
};

// ---- payload checks -------------------------------------------------------------------

type Obj = Record<string, unknown>;
function obj(v: unknown, what: string): Obj {
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new IpcPayloadError(`${what}: expected an object`);
  return v as Obj;
}
function str(v: unknown, what: string, max = 4096): string {
  if (typeof v !== 'string' || v.length > max)
    throw new IpcPayloadError(`${what}: expected a string`);
  return v;
}
function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new IpcPayloadError(`${what}: expected true or false`);
  return v;
}
function strList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.length > 100)
    throw new IpcPayloadError(`${what}: expected a list of strings`);
  return v.map((x, i) => str(x, `${what}[${i}]`, 512));
}
function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): T {
  if (typeof v !== 'string' || !allowed.includes(v as T))
    throw new IpcPayloadError(`${what}: expected one of ${allowed.join(', ')}`);
  return v as T;
}
function none(v: unknown, what: string): void {
  if (v !== undefined && v !== null) throw new IpcPayloadError(`${what}: takes no argument`);
}

const FP = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** SettingsView names → settings.json keys and values. */
function settingsValues(patch: Obj): { values: SettingsValues; startAtLogin?: boolean } {
  const values: SettingsValues = {};
  let startAtLogin: boolean | undefined;
  for (const [k, v] of Object.entries(patch)) {
    switch (k as keyof SettingsPatch) {
      case 'startAtLogin':
        startAtLogin = bool(v, k);
        break;
      case 'denyWhenLocked':
        values.denyWhenLocked = bool(v, k);
        break;
      case 'approval':
        values.approval = oneOf(v, ['prompt', 'allow', 'deny'] as const, k);
        break;
      case 'grantMinutes':
      case 'approvalTimeoutSeconds':
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw new IpcPayloadError(`${k}: expected a number`);
        values[k === 'grantMinutes' ? 'grantMinutes' : 'approvalTimeout'] = String(v);
        break;
      case 'addr':
        values.addr = str(v, k, 100);
        break;
      case 'upstream':
      case 'pubkey':
        values[k as 'upstream' | 'pubkey'] = str(v, k) === '' ? null : (v as string);
        break;
      case 'allowedHosts':
      case 'namespaces':
        values[k as 'allowedHosts' | 'namespaces'] = strList(v, k);
        break;
      default:
        throw new IpcPayloadError(`settings: unknown field "${k.slice(0, 40)}"`);
    }
  }
  return { values, ...(startAtLogin === undefined ? {} : { startAtLogin }) };
}

export function createHandlers(d: HandlerDeps): Handlers {
  const { proxy } = d;
  const settings = () => settingsView(proxy.config, d.loginItem.get());

  return {
    'approval:queue': (p) => (none(p, 'approval:queue'), queueView(proxy.broker)),
    'approval:answer': (p) => {
      const a = obj(p, 'approval:answer');
      const answer = oneOf(
        a.answer,
        ['allow-once', 'allow-for-grant', 'allow-program-for-grant', 'deny'] as const,
        'answer',
      );
      const t = obj(a.target, 'target');
      const keys = Object.keys(t);
      if (keys.length !== 1) throw new IpcPayloadError('target: expected { id } or { ids }');
      const target =
        'id' in t ? { id: str(t.id, 'target.id', 64) } : { ids: strList(t.ids, 'target.ids') };
      return proxy.broker.answer(target, answer);
    },
    'activity:get': (p) => (none(p, 'activity:get'), activityView(proxy, d.status)),
    'grants:revoke': (p) => proxy.broker.revokeGrant(str(obj(p, 'grants:revoke').id, 'id', 64)),
    'signing:set-paused': (p) => {
      proxy.broker.setPaused(bool(obj(p, 'signing:set-paused').paused, 'paused'));
      return true;
    },
    'settings:get': (p) => (none(p, 'settings:get'), settings()),
    'settings:set': (p) => {
      const { values, startAtLogin } = settingsValues(obj(p, 'settings:set'));
      try {
        const r = proxy.applySettings(values);
        if (startAtLogin !== undefined) d.loginItem.set(startAtLogin);
        return { ok: true, restartNeeded: r.restartNeeded, settings: settings() };
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return { ok: false, error: err.message, restartNeeded: [], settings: settings() };
      }
    },
    'agents:discover': async (p) => {
      none(p, 'agents:discover');
      const found = await discoverAgents(d.platform, proxy.config.upstream);
      return found.map((a) => ({
        name: a.name,
        path: a.path,
        exists: a.exists,
        reachable: a.reachable,
        keyCount: a.keyCount,
        error: a.error,
      }));
    },
    'tokens:list': (p) => (none(p, 'tokens:list'), proxy.tokens.list().map((t) => tokenView(t))),
    'tokens:create': (p) => {
      const r = obj(p, 'tokens:create');
      const keys = strList(r.keys, 'keys');
      const bad = keys.find((k) => !FP.test(k));
      if (bad) return { ok: false, error: `"${bad}" is not a SHA256: fingerprint` };
      try {
        const expires = str(r.expires, 'expires', 20).trim();
        const token = proxy.createToken(str(r.name, 'name', 64), {
          keys,
          namespaces: strList(r.namespaces, 'namespaces'),
          gitOnly: bool(r.gitOnly, 'gitOnly'),
          ...(expires ? { expiresInMs: parseDuration(expires) } : {}),
        });
        return { ok: true, token };
      } catch (err) {
        if (err instanceof TokenError) return { ok: false, error: err.message };
        throw err;
      }
    },
    'tokens:revoke': (p) => proxy.revokeToken(str(obj(p, 'tokens:revoke').name, 'name', 64)),
    'setup:lines': (p) => {
      const a = obj(p, 'setup:lines');
      const tokenName = a.tokenName === null ? null : str(a.tokenName, 'tokenName', 64);
      return containerSetup({
        runtime: oneOf(a.runtime, RUNTIMES, 'runtime'),
        port: proxy.port(),
        bindHost: proxy.config.addr.host,
        tokenName,
      });
    },
    'clipboard:write': (p) => {
      d.clipboard(str(obj(p, 'clipboard:write').text, 'text', 64 * 1024));
      return true;
    },
    'window:close': (p, ctx) => {
      none(p, 'window:close');
      d.closeWindow(ctx.senderId);
      return true;
    },
    'logs:open': (p) => {
      none(p, 'logs:open');
      d.openLogs();
      return true;
    },
    'approval:fit': (p, ctx) => {
      const h = obj(p, 'approval:fit').height;
      if (typeof h !== 'number' || !Number.isFinite(h) || h < 0 || h > 100_000)
        throw new IpcPayloadError('height: expected a number of pixels');
      d.fitWindow(ctx.senderId, h);
      return true;
    },
  };
}
