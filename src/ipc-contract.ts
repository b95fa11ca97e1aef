// The one IPC contract between the Electron main process, the preload bridge and the
// renderer. Types only (plus the channel name lists): a wrong payload fails to compile in
// all three. Every payload is plain, already-safe data; the renderer shows it with
// textContent only.

export type Answer = 'allow-once' | 'allow-for-grant' | 'allow-program-for-grant' | 'deny';
export type Policy = 'prompt' | 'allow' | 'deny';

export interface ViewLine {
  label: string;
  value: string;
  /** A fingerprint: one line, monospace, shortened, the whole one on hover or click. */
  fingerprint?: true;
}

/** A pending request as the approval window shows it. */
export interface PromptView {
  id: string;
  group: string;
  /** Short, for lists (the tray menu, the group list). */
  headline: string;
  /** The window's small header: "Commit signature", "SSH login", … */
  kindLabel: string;
  /** With the verb of its kind: "Log in to github.com as git?", "Sign commit …?" */
  question: string;
  /** Who asks (large), and how it is known ("token, from 172.17.0.2", or empty). */
  client: string;
  clientNote: string;
  /** With which key: its comment, else its type. */
  keyName: string;
  keyType: string;
  /** Everything else (tree, parents, namespace, fingerprints), shown smaller. */
  details: ViewLine[];
  /** The grant button's words, its scope stated. */
  grantLabel: string;
  /** The program-scoped grant button's words, or null when not offered (no executable read). */
  programGrantLabel: string | null;
  receivedAt: number;
  deadline: number;
  /** The other requests pending in the same group (same client, key, namespace), oldest first. */
  groupOthers: { id: string; headline: string }[];
}

export interface QueueView {
  prompts: PromptView[];
  grantMinutes: number;
  /** Milliseconds since the epoch on main's clock when this was sent (for countdowns). */
  sentAt: number;
}

export interface ActivityRecordView {
  time: string;
  client: string;
  what: string;
  key: string;
  namespace: string;
  decision: string;
  outcome: string;
  status: number;
  /** request (a decision), or an event: grant, token, refusals, audit. */
  kind: 'request' | 'grant' | 'token' | 'refusals' | 'audit';
  /** The program as the host saw it (`git (pid 1234) ← bash; exe /usr/bin/git`), or null. */
  program: string | null;
  /** What the sandbox said runs it (`git commit -S`): its own claim, unverified; or null. */
  claim: string | null;
}

export interface GrantView {
  id: string;
  client: string;
  key: string;
  namespace: string;
  expiresAt: number;
  uses: number;
  maxUses: number | null;
  /** A program-scoped grant's program, `git (/usr/bin/git)`; absent for a client-wide one. */
  program?: string;
}

export interface StatusView {
  url: string;
  agentPath: string | null;
  agentSource: string | null;
  agentReachable: boolean;
  keyCount: number;
  paused: boolean;
  policy: Policy;
  pending: number;
  /** False while the audit log cannot be written: then nothing is signed. */
  auditWritable: boolean;
}

export interface ActivityView {
  status: StatusView;
  records: ActivityRecordView[];
  grants: GrantView[];
}

export interface TokenView {
  name: string;
  state: 'active' | 'revoked' | 'expired';
  createdAt: string;
  expiresAt: string | null;
  keys: string[];
  namespaces: string[];
  gitOnly: boolean;
}

export interface AgentCandidateView {
  name: string;
  path: string;
  exists: boolean;
  reachable: boolean;
  keyCount: number | null;
  error: string | null;
}

export interface SettingsView {
  startAtLogin: boolean;
  denyWhenLocked: boolean;
  approval: Policy;
  grantMinutes: number;
  approvalTimeoutSeconds: number;
  addr: string;
  allowedHosts: string[];
  upstream: string;
  pubkey: string;
  namespaces: string[];
  /** Settings fixed by the environment or a flag: changing them here lasts until restart. */
  shadowed: Record<string, string>;
  configDir: string;
}

export type SettingsPatch = Partial<Omit<SettingsView, 'shadowed' | 'configDir'>>;

export interface SettingsResult {
  ok: boolean;
  /** One line naming the setting, when not ok. */
  error?: string;
  /** Settings that take effect after a restart. */
  restartNeeded: string[];
  settings: SettingsView;
}

export interface TokenCreateRequest {
  name: string;
  keys: string[];
  namespaces: string[];
  gitOnly: boolean;
  /** e.g. 30d; empty = never */
  expires: string;
}

export type TokenCreateResult = { ok: true; token: string } | { ok: false; error: string };

export type ContainerRuntime = 'docker-desktop' | 'docker-linux' | 'podman' | 'wsl2';

/** Renderer → main, request/response (ipcRenderer.invoke / ipcMain.handle). */
export interface MainHandles {
  'approval:queue': () => QueueView;
  /** `ids`: exactly the requests the window listed; nothing else is answered. */
  'approval:answer': (a: { target: { id: string } | { ids: string[] }; answer: Answer }) => boolean;
  'activity:get': () => ActivityView;
  'grants:revoke': (a: { id: string }) => boolean;
  'signing:set-paused': (a: { paused: boolean }) => boolean;
  'settings:get': () => SettingsView;
  'settings:set': (patch: SettingsPatch) => SettingsResult;
  'agents:discover': () => AgentCandidateView[];
  'tokens:list': () => TokenView[];
  'tokens:create': (r: TokenCreateRequest) => TokenCreateResult;
  'tokens:revoke': (a: { name: string }) => boolean;
  'setup:lines': (a: { tokenName: string | null; runtime: ContainerRuntime }) => string;
  'clipboard:write': (a: { text: string }) => boolean;
  'window:close': () => boolean;
  'logs:open': () => boolean;
  /** The approval window's content height in CSS pixels: main sizes the window to it, bounded. */
  'approval:fit': (a: { height: number }) => boolean;
}

/** Main → renderer events (webContents.send / ipcRenderer.on). */
export interface RendererListens {
  'approval:queue-changed': QueueView;
  'activity:changed': ActivityView;
}

export type HandleChannel = keyof MainHandles;
export type EventChannel = keyof RendererListens;

export const HANDLE_CHANNELS = [
  'approval:queue',
  'approval:answer',
  'activity:get',
  'grants:revoke',
  'signing:set-paused',
  'settings:get',
  'settings:set',
  'agents:discover',
  'tokens:list',
  'tokens:create',
  'tokens:revoke',
  'setup:lines',
  'clipboard:write',
  'window:close',
  'logs:open',
  'approval:fit',
] as const satisfies readonly HandleChannel[];

export const EVENT_CHANNELS = [
  'approval:queue-changed',
  'activity:changed',
] as const satisfies readonly EventChannel[];

/** What the preload exposes as `window.sshAgentProxy`: the only door to main. */
export interface BridgeApi {
  invoke<C extends HandleChannel>(
    channel: C,
    ...args: Parameters<MainHandles[C]>
  ): Promise<ReturnType<MainHandles[C]>>;
  /** Returns an unsubscribe function. */
  on<E extends EventChannel>(
    channel: E,
    listener: (payload: RendererListens[E]) => void,
  ): () => void;
}

export const BRIDGE_KEY = 'sshAgentProxy';

// Compile-time proof that the channel lists name every channel.
type MissingHandle = Exclude<HandleChannel, (typeof HANDLE_CHANNELS)[number]>;
type MissingEvent = Exclude<EventChannel, (typeof EVENT_CHANNELS)[number]>;
export const CHANNEL_LISTS_COMPLETE: [MissingHandle, MissingEvent] extends [never, never]
  ? true
  : never = true;
