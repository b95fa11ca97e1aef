// The activity and settings window: status, grants and recent requests; settings; client
// tokens; and the lines to paste into a container.
import type {
  ActivityView,
  AgentCandidateView,
  ContainerRuntime,
  SettingsPatch,
  SettingsView,
  TokenView,
} from '../ipc-contract.js';
import { bridge, byId, el } from './bridge.js';

const api = bridge();

// ---- tabs -------------------------------------------------------------------------------

const TABS = ['activity', 'settings', 'tokens', 'setup'] as const;
type Tab = (typeof TABS)[number];

function showTab(tab: Tab): void {
  for (const t of TABS) {
    byId(t).hidden = t !== tab;
    byId(`tab-${t}`).setAttribute('aria-selected', String(t === tab));
  }
  if (tab === 'settings') void loadSettings();
  if (tab === 'tokens') void loadTokens();
  if (tab === 'setup') void loadSetup();
}
for (const t of TABS) byId(`tab-${t}`).addEventListener('click', () => showTab(t));
document.addEventListener('keydown', (e) => {
  const i = TABS.findIndex((t) => byId(`tab-${t}`) === document.activeElement);
  if (i < 0 || (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft')) return;
  const next = TABS[(i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length]!;
  showTab(next);
  byId(`tab-${next}`).focus();
});

const time = (iso: string | number) => new Date(iso).toLocaleTimeString();
const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function result(id: string, text: string, ok: boolean): void {
  const p = byId(id);
  p.textContent = text;
  p.className = `result ${ok ? 'ok' : 'error'}`;
}

// ---- activity -----------------------------------------------------------------------------

function renderActivity(v: ActivityView): void {
  const s = v.status;
  const agent = s.agentPath
    ? el('span', {}, [
        el('span', {
          text: s.agentReachable ? 'reachable' : 'unreachable',
          className: s.agentReachable ? 'good' : 'bad',
        }),
        ` · ${s.keyCount} key${s.keyCount === 1 ? '' : 's'} · `,
        el('span', { text: `${s.agentPath} (${s.agentSource ?? ''})`, className: 'mono' }),
      ])
    : el('span', { text: 'none found — choose one in Settings', className: 'bad' });
  byId('status').replaceChildren(
    ...[
      ['Listening', el('span', { text: s.url, className: 'mono' })],
      ['Agent', agent],
      [
        'Approval',
        el('span', {
          text: s.paused ? 'signing is paused' : s.policy,
          className: s.paused ? 'bad' : '',
        }),
      ],
      ['Waiting', el('span', { text: String(s.pending) })],
      [
        'Audit log',
        el('span', {
          text: s.auditWritable ? 'written' : 'cannot be written: signing and logins refused',
          className: s.auditWritable ? 'good' : 'bad',
        }),
      ],
    ].flatMap(([k, v]) => [el('dt', { text: k as string }), el('dd', {}, [v as Node])]),
  );
  byId('pause').textContent = s.paused ? 'Resume signing' : 'Pause signing';
  byId('pause').dataset.paused = String(s.paused);

  byId('grants')
    .querySelector('tbody')!
    .replaceChildren(
      ...v.grants.map((g) => {
        const revoke = el('button', {
          text: 'Revoke',
          className: 'danger',
          attrs: { type: 'button', 'aria-label': `Revoke grant for ${g.client}` },
        });
        revoke.addEventListener(
          'click',
          () => void api.invoke('grants:revoke', { id: g.id }).then(refreshActivity),
        );
        return el('tr', {}, [
          el('td', { text: g.program ? `${g.client}, running ${g.program} only` : g.client }),
          el('td', { text: g.key, className: 'mono key', title: g.key }),
          el('td', { text: g.namespace }),
          el('td', { text: time(g.expiresAt) }),
          el('td', { text: g.maxUses === null ? String(g.uses) : `${g.uses} of ${g.maxUses}` }),
          el('td', {}, [revoke]),
        ]);
      }),
    );
  byId('grants').hidden = v.grants.length === 0;
  byId('no-grants').hidden = v.grants.length > 0;

  byId('records')
    .querySelector('tbody')!
    .replaceChildren(
      ...v.records.map((r) =>
        // An event (a grant given, a token's life, refusal counts) is no failed request.
        el('tr', { className: r.status === 200 || r.kind !== 'request' ? '' : 'failed' }, [
          el('td', { text: time(r.time) }),
          el('td', {}, [
            el('div', { text: r.client }),
            // What the host saw, then — kept apart and marked — what the sandbox says.
            ...(r.program ? [el('div', { text: r.program, className: 'program muted' })] : []),
            ...(r.claim
              ? [
                  el('div', {
                    text: `sandbox says: ${r.claim} (its own claim, unverified)`,
                    className: 'claim muted',
                  }),
                ]
              : []),
          ]),
          el('td', { text: r.what }),
          el('td', { text: r.key, className: 'mono key', title: r.key }),
          el('td', { text: r.decision }),
          el('td', {
            text: r.kind === 'request' ? `${r.status} ${r.outcome}` : r.outcome,
            className: r.kind !== 'request' ? '' : r.status === 200 ? 'good' : 'bad',
          }),
        ]),
      ),
    );
  byId('records').hidden = v.records.length === 0;
  byId('no-records').hidden = v.records.length > 0;
}

const refreshActivity = () => api.invoke('activity:get').then(renderActivity);
byId('pause').addEventListener('click', () => {
  const paused = byId('pause').dataset.paused === 'true';
  void api.invoke('signing:set-paused', { paused: !paused }).then(refreshActivity);
});
byId('open-logs').addEventListener('click', () => void api.invoke('logs:open'));
api.on('activity:changed', renderActivity);

// ---- settings -----------------------------------------------------------------------------

const input = (id: string) => byId<HTMLInputElement>(id);
let agents: AgentCandidateView[] = [];

function renderAgents(current: string): void {
  const rows = agents.map((a) => {
    const radio = el('input', { attrs: { type: 'radio', name: 'agent', value: a.path } });
    radio.checked = a.path === current;
    const state = a.reachable
      ? `reachable, ${a.keyCount} key${a.keyCount === 1 ? '' : 's'}`
      : a.exists
        ? `not answering (${a.error})`
        : 'not present';
    return el('label', {}, [
      radio,
      el('span', { text: `${a.name} — ${state}`, className: a.reachable ? 'good' : 'muted' }),
      el('small', { text: a.path, className: 'mono' }),
    ]);
  });
  byId('agents').replaceChildren(...rows);
  input('agent-custom').checked = !agents.some((a) => a.path === current);
}

function fillSettings(s: SettingsView): void {
  input('s-startAtLogin').checked = s.startAtLogin;
  input('s-denyWhenLocked').checked = s.denyWhenLocked;
  byId<HTMLSelectElement>('s-approval').value = s.approval;
  input('s-grantMinutes').value = String(s.grantMinutes);
  input('s-approvalTimeoutSeconds').value = String(s.approvalTimeoutSeconds);
  input('s-addr').value = s.addr;
  input('s-allowedHosts').value = s.allowedHosts.join(', ');
  input('s-upstream').value = s.upstream;
  byId<HTMLTextAreaElement>('s-pubkey').value = s.pubkey;
  input('s-namespaces').value = s.namespaces.join(', ');
  const shadowed = Object.entries(s.shadowed);
  byId('settings-notes').textContent =
    (shadowed.length
      ? `Set by the environment or a flag, which win at the next start: ${shadowed.map(([k, v]) => `${k} (${v})`).join(', ')}. `
      : '') + `Saved in ${s.configDir}.`;
  renderAgents(s.upstream);
}

async function loadSettings(): Promise<void> {
  const s = await api.invoke('settings:get');
  fillSettings(s);
  agents = await api.invoke('agents:discover');
  renderAgents(s.upstream);
}

byId('rescan').addEventListener('click', () => void loadSettings());
byId('agents').addEventListener('change', (e) => {
  const t = e.target as HTMLInputElement;
  if (t.name === 'agent') input('s-upstream').value = t.value;
});
input('s-upstream').addEventListener('input', () => (input('agent-custom').checked = true));

byId('settings-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const patch: SettingsPatch = {
    startAtLogin: input('s-startAtLogin').checked,
    denyWhenLocked: input('s-denyWhenLocked').checked,
    approval: byId<HTMLSelectElement>('s-approval').value as SettingsPatch['approval'],
    grantMinutes: Number(input('s-grantMinutes').value),
    approvalTimeoutSeconds: Number(input('s-approvalTimeoutSeconds').value),
    addr: input('s-addr').value.trim(),
    allowedHosts: list(input('s-allowedHosts').value),
    upstream: input('s-upstream').value.trim(),
    pubkey: byId<HTMLTextAreaElement>('s-pubkey').value.trim(),
    namespaces: list(input('s-namespaces').value),
  };
  void api.invoke('settings:set', patch).then((r) => {
    if (!r.ok) return result('settings-result', r.error ?? 'not saved', false);
    fillSettings(r.settings);
    result(
      'settings-result',
      r.restartNeeded.length
        ? `Saved. After a restart: ${r.restartNeeded.join(', ')}.`
        : 'Saved and applied.',
      true,
    );
  });
});

// ---- tokens -------------------------------------------------------------------------------

let tokens: TokenView[] = [];

async function loadTokens(): Promise<void> {
  tokens = await api.invoke('tokens:list');
  byId('token-list')
    .querySelector('tbody')!
    .replaceChildren(
      ...tokens.map((t) => {
        const limits = [
          t.keys.length ? `keys: ${t.keys.join(', ')}` : 'any key',
          t.namespaces.length ? `namespaces: ${t.namespaces.join(', ')}` : 'any namespace',
          ...(t.gitOnly ? ['git objects only'] : []),
          t.expiresAt ? `expires ${new Date(t.expiresAt).toLocaleString()}` : 'no expiry',
        ];
        const cell = el('td');
        if (t.state === 'active') {
          const b = el('button', {
            text: 'Revoke',
            className: 'danger',
            attrs: { type: 'button', 'aria-label': `Revoke token ${t.name}` },
          });
          b.addEventListener(
            'click',
            () => void api.invoke('tokens:revoke', { name: t.name }).then(loadTokens),
          );
          cell.append(b);
        }
        return el('tr', {}, [
          el('td', { text: t.name }),
          el('td', { text: t.state, className: t.state === 'active' ? 'good' : 'muted' }),
          el('td', { text: limits.join('; '), className: 'wrap' }),
          el('td', { text: new Date(t.createdAt).toLocaleString() }),
          cell,
        ]);
      }),
    );
  byId('token-list').hidden = tokens.length === 0;
  byId('no-tokens').hidden = tokens.length > 0;
}

byId('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void api
    .invoke('tokens:create', {
      name: input('t-name').value.trim(),
      keys: list(input('t-keys').value),
      namespaces: list(input('t-namespaces').value),
      gitOnly: input('t-gitOnly').checked,
      expires: input('t-expires').value.trim(),
    })
    .then((r) => {
      if (!r.ok) return result('token-result', r.error, false);
      result('token-result', `Created "${input('t-name').value.trim()}".`, true);
      byId('new-token-value').textContent = r.token;
      byId('new-token').hidden = false;
      (byId('token-form') as HTMLFormElement).reset();
      void loadTokens();
    });
});
byId('copy-token').addEventListener(
  'click',
  () => void api.invoke('clipboard:write', { text: byId('new-token-value').textContent ?? '' }),
);
byId('hide-token').addEventListener('click', () => {
  byId('new-token-value').textContent = '';
  byId('new-token').hidden = true;
});

// ---- container setup -----------------------------------------------------------------------

async function loadSetup(): Promise<void> {
  tokens = await api.invoke('tokens:list');
  const select = byId<HTMLSelectElement>('setup-token');
  const previous = select.value;
  const active = tokens.filter((t) => t.state === 'active');
  select.replaceChildren(
    ...(active.length ? [] : [el('option', { text: '(no token)', attrs: { value: '' } })]),
    ...active.map((t) => el('option', { text: t.name, attrs: { value: t.name } })),
  );
  if (active.some((t) => t.name === previous)) select.value = previous;
  await renderSetup();
}

async function renderSetup(): Promise<void> {
  const tokenName = byId<HTMLSelectElement>('setup-token').value || null;
  const runtime = byId<HTMLSelectElement>('setup-runtime').value as ContainerRuntime;
  byId('setup-lines').textContent = await api.invoke('setup:lines', { tokenName, runtime });
}
byId('setup-token').addEventListener('change', () => void renderSetup());
byId('setup-runtime').addEventListener('change', () => void renderSetup());
byId('copy-setup').addEventListener(
  'click',
  () => void api.invoke('clipboard:write', { text: byId('setup-lines').textContent ?? '' }),
);

// ---- start ----------------------------------------------------------------------------------

const start = new URLSearchParams(location.search).get('tab');
showTab(TABS.includes(start as Tab) ? (start as Tab) : 'activity');
void refreshActivity();
