// The approval window: the oldest pending request, "1 of N", led by who asks, what happens
// (the question, with the verb of its kind) and with which key; the rest smaller below; a
// countdown; Deny, Allow once (the one primary), and the grant with its scope stated; the
// group answer apart. Buttons wake only ARM_MS after the request shown changes, so a click
// or keystroke meant for something else cannot approve. Nothing is focused by default:
// Enter does nothing until the person tabs to a button (Deny comes first). The page tells
// main how tall it is, and main sizes the window to it.
import type { Answer, PromptView, QueueView, ViewLine } from '../ipc-contract.js';
import { bridge, byId, el } from './bridge.js';

export const ARM_MS = 600;
/** Group members listed (and so answerable together) at most. */
const MAX_LISTED = 8;

const api = bridge();
let queue: QueueView = { prompts: [], grantMinutes: 10, sentAt: Date.now() };
let clockOffset = 0; // main's clock minus ours
/** The request shown and the group members listed with it: what an answer covers. */
let shownKey: string | null = null;
let listedIds: string[] = [];
let armTimer: number | undefined;
let armed = false;

const buttons = () =>
  ['deny', 'allow-once', 'allow-grant', 'allow-program-grant', 'deny-group', 'allow-group'].map(
    (id) => byId<HTMLButtonElement>(id),
  );

function setArmed(on: boolean): void {
  armed = on;
  for (const b of buttons()) b.disabled = !on;
  document.body.dataset.armed = String(on);
}

function current(): PromptView | undefined {
  return queue.prompts[0];
}

function renderCountdown(): void {
  const p = current();
  if (!p) return;
  const now = Date.now() + clockOffset;
  const total = Math.max(1, p.deadline - p.receivedAt);
  const left = Math.max(0, p.deadline - now);
  const bar = byId('bar');
  (bar.firstElementChild as HTMLElement).style.width = `${(100 * left) / total}%`;
  bar.classList.toggle('low', left < 10_000);
  byId('remaining').textContent = `denied in ${Math.ceil(left / 1000)} s`;
}

/** `SHA256:AbCdEfGh…uVwXyZ`: enough to recognise, short enough for one line. */
function shortFingerprint(fp: string): string {
  const colon = fp.indexOf(':') + 1;
  return fp.length - colon <= 16 ? fp : `${fp.slice(0, colon + 8)}…${fp.slice(-6)}`;
}

function detailNodes(l: ViewLine): HTMLElement[] {
  if (!l.fingerprint) return [el('dt', { text: l.label }), el('dd', { text: l.value })];
  // Whole on hover (title) and on click; never broken inside.
  const dd = el('dd', {
    text: shortFingerprint(l.value),
    className: 'fp',
    title: l.value,
    attrs: { tabindex: '-1' }, // scrolls when whole, and so would join the Tab order
  });
  dd.addEventListener('click', () => {
    const whole = dd.textContent === l.value;
    dd.textContent = whole ? shortFingerprint(l.value) : l.value;
  });
  return [el('dt', { text: l.label }), dd];
}

let reportedHeight = -1;
/**
 * The height the content needs whatever the window's height now: measured with the page's
 * cap (max-height: 100vh) lifted for the moment of the measure — no frame is drawn in
 * between — and rounded up, so a window a fraction of a pixel short never squeezes the
 * details. Measured again on each resize and redraw; the same height is not sent twice.
 * The empty page is not measured: the window is hidden then, and keeping the last
 * request's height means the next one (usually alike) appears at about its size.
 */
function reportHeight(): void {
  if (!current()) return;
  const shown = byId('prompt');
  shown.style.maxHeight = 'none';
  const height = Math.ceil(shown.getBoundingClientRect().height);
  shown.style.maxHeight = '';
  if (height === reportedHeight) return;
  reportedHeight = height;
  void api.invoke('approval:fit', { height });
}

function render(): void {
  renderView();
  reportHeight();
}

function renderView(): void {
  const p = current();
  byId('prompt').hidden = !p;
  byId('empty').hidden = !!p;
  if (!p) {
    shownKey = null;
    listedIds = [];
    document.title = 'SSH Agent Proxy';
    return;
  }
  const listed = p.groupOthers.slice(0, MAX_LISTED);
  const key = [p.id, ...listed.map((o) => o.id)].join(' ');
  if (key !== shownKey) {
    // A different request, or a different list of what a group answer would cover:
    // disarm, drop focus, re-arm after a moment, so a click cannot land on a changed list.
    shownKey = key;
    listedIds = listed.map((o) => o.id);
    setArmed(false);
    (document.activeElement as HTMLElement | null)?.blur?.();
    window.clearTimeout(armTimer);
    armTimer = window.setTimeout(() => setArmed(true), ARM_MS);
  }
  document.title = `${p.question} — SSH Agent Proxy`;
  byId('kind').textContent = p.kindLabel;
  byId('position').textContent = `1 of ${queue.prompts.length}`;
  byId('client').textContent = p.client;
  byId('client-note').textContent = p.clientNote ? `(${p.clientNote})` : '';
  byId('headline').textContent = p.question;
  byId('key-name').textContent = p.keyName;
  byId('key-type').textContent = p.keyName === p.keyType ? '' : p.keyType;
  byId('details').replaceChildren(...p.details.flatMap(detailNodes));
  byId('allow-grant').textContent = p.grantLabel;
  // Offered only when the host read the program's executable: the grant is scoped to it.
  byId('allow-program-grant').hidden = p.programGrantLabel === null;
  byId('allow-program-grant').textContent = p.programGrantLabel ?? '';
  const others = p.groupOthers;
  byId('group').hidden = others.length === 0;
  if (others.length) {
    byId('group-title').textContent =
      `Also waiting from this client with this key (${others.length}); the grant above covers the ${listed.length === 1 ? 'one' : listed.length} listed here too:`;
    const shown = listed.map((o) => el('li', { text: o.headline }));
    if (others.length > listed.length)
      shown.push(
        el('li', {
          text: `…and ${others.length - listed.length} more, not covered (shown next)`,
          className: 'muted',
        }),
      );
    byId('group-list').replaceChildren(...shown);
    byId('deny-group').textContent = `Deny these ${listed.length + 1}`;
    byId('allow-group').textContent = `Allow these ${listed.length + 1} once`;
  }
  renderCountdown();
}

/**
 * Answer the request shown, or it and exactly the group members listed on screen (a
 * grant covers the listed ones too). Requests that joined after the list was drawn
 * changed the list, which disarmed the buttons; they are never answered unseen.
 */
function answer(a: Answer, withListed = false): void {
  const p = current();
  if (!p || !armed) return;
  setArmed(false); // until the next request is shown and armed
  const grant = a === 'allow-for-grant' || a === 'allow-program-for-grant';
  const ids = withListed || grant ? [p.id, ...listedIds] : [p.id];
  void api.invoke('approval:answer', { target: { ids }, answer: a });
}

function onQueue(q: QueueView): void {
  queue = q;
  clockOffset = q.sentAt - Date.now();
  render(); // re-arms only if the request shown changed
}

byId('deny').addEventListener('click', () => answer('deny'));
byId('allow-once').addEventListener('click', () => answer('allow-once'));
byId('allow-grant').addEventListener('click', () => answer('allow-for-grant'));
byId('allow-program-grant').addEventListener('click', () => {
  if (current()?.programGrantLabel) answer('allow-program-for-grant');
});
byId('deny-group').addEventListener('click', () => answer('deny', true));
byId('allow-group').addEventListener('click', () => answer('allow-once', true));

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    // Esc denies the request shown; denying is always safe, so no arming delay.
    const p = current();
    if (p) void api.invoke('approval:answer', { target: { id: p.id }, answer: 'deny' });
    e.preventDefault();
  } else if (e.key === 'Enter' && !(e.target instanceof HTMLButtonElement)) {
    e.preventDefault(); // no default button
  }
});

api.on('approval:queue-changed', onQueue);
window.addEventListener('resize', reportHeight);
setArmed(false);
void api.invoke('approval:queue').then(onQueue);
window.setInterval(renderCountdown, 500);
