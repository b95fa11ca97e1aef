// The approval prompt on a terminal, for `--console`: a faithful view of the broker's queue.
// One current request (the oldest) with "k of N", a countdown redrawn every second, and the
// other requests of its group (same client, key and namespace) listed by name before any key
// answers them together. Whenever a request leaves the queue — answered here, timed out,
// withdrawn by a client that hung up, revoked — its outcome is written under its summary
// above the prompt, before the next prompt is drawn.
//
// Keys: y allow once, n deny, a allow + grant (covers the listed requests too), e allow +
// a grant for this program's executable only (offered only when the host read it), and with a
// group listed Y allow all listed once, N deny all listed. A group answer names exactly the
// request ids on screen. Keys are ignored (and the prompt says so) for a moment after a
// prompt appears and after each answer, so typing meant for something else cannot approve;
// the group keys also after the listed requests change. Escape sequences (arrow keys…) are never answers.
// Ctrl-C stays "stop the proxy".
//
// A paste is never keys. A person who pastes a command into this terminal by mistake
// (`git commit -am wip`) must not answer, grant, resume or revoke with the letters in it:
// bracketed paste is switched on while the prompter runs and everything between ESC[200~
// and ESC[201~ is dropped; and, for a terminal without bracketed paste, a read that carries
// more than one printable key (a paste arrives as one read; typing, one key per read) is
// dropped whole.
//
// Beside answering (keys apart from y/a/n, and ignored like them while a prompt is not yet
// armed): g opens the list of live grants, where 1–9 revokes the grant drawn at that number
// (the list is a snapshot: a number never names a grant other than the one shown), p pauses
// and r resumes signing — what the tray menu does, through the same core as
// `ssh-agent-proxy grants`/`pause`. Pause and resume are distinct keys, so no stray key
// toggles a pause off; r, which gives signing back, waits like an answer: it counts only once
// the pause has been on screen for the arming delay (and not while a prompt arms). Each new
// request rings `alert` (the console: the bell and a desktop notification).
import type { ReadStream } from 'node:tty';
import {
  realClock,
  type Answer,
  type ApprovalBroker,
  type Clock,
  type PendingRequest,
  type Prompter,
} from '../core/approval/approval-broker.js';
import { grantScope, headline, promptTitle, requestLines } from '../core/approval/request-view.js';
import { programScope, programScopeText } from '../core/approval/program-scope.js';
import {
  applyControl,
  formatGrant,
  summarizeGrant,
  type GrantSummary,
} from '../core/control/control-protocol.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { LiveRegion, type ScreenStream } from './live-region.js';

export const ARM_DELAY_MS = 500;
/** Ask the terminal to mark pastes (ESC[200~ … ESC[201~), and to stop. */
export const BRACKETED_PASTE_ON = '\x1b[?2004h';
export const BRACKETED_PASTE_OFF = '\x1b[?2004l';
/** Longest CSI parameter string kept (paste markers are 4 bytes); the rest is skipped. */
const MAX_CSI_PARAMS = 16;
/** How long "(key ignored — wait a moment)" stays, at least. */
const IGNORED_NOTE_MS = 2_000;
/** Group subjects listed by name; the keys answer only what is listed. */
export const MAX_LISTED = 10;
/** A request that leaves this close to its deadline was timed out by the broker. */
const DEADLINE_SLACK_MS = 50;

export interface TerminalPrompterOptions {
  broker: ApprovalBroker;
  input: ReadStream;
  /** Where the prompt is drawn: a region shared with the log, or else a stream to draw on. */
  screen?: LiveRegion;
  output?: ScreenStream;
  onInterrupt: () => void;
  /** Time and timers; `now` alone replaces only the time (timers stay real). */
  clock?: Clock;
  now?: () => number;
  /** Why a request left the queue when no answer here and no deadline explains it, if known. */
  whyWithdrawn?: (r: PendingRequest) => string | undefined;
  /** Where pause, resume and revokes from the keys are logged (shown above the prompt). */
  log?: Logger;
  /** Called once for each request that joins the queue, after it is drawn. */
  alert?: (r: PendingRequest) => void;
}

/** Grants a number key can name. */
const MAX_PANEL = 9;
const IGNORED = '(key ignored — wait a moment)';
const PASTE_IGNORED = '(pasted text ignored — keys count one at a time)';

type Action = 'once' | 'grant' | 'program-grant' | 'deny' | 'all-once' | 'all-deny';
const KEYS: Record<string, Action> = {
  y: 'once',
  n: 'deny',
  a: 'grant',
  A: 'grant',
  e: 'program-grant',
  Y: 'all-once',
  N: 'all-deny',
};

export class TerminalPrompter implements Prompter {
  private queue: readonly PendingRequest[] = [];
  private currentId: string | undefined;
  /** The ids a group key answers: the current request and the subjects listed under it. */
  private listed: string[] = [];
  /** Keys count from here on: set when the current request changes and after each answer. */
  private armedAt = Infinity;
  /** Keys that answer the listed requests (a, Y, N) also wait after the list changes. */
  private groupArmedAt = Infinity;
  private ignoredNoteUntil = 0;
  /** What the note under the prompt says while it shows. */
  private ignoredNote = IGNORED;
  /** While broker.answer runs: the outcome to print for each id it may settle. */
  private answering = new Map<string, string>();
  private escape: 'none' | 'esc' | 'csi' | 'ss3' = 'none';
  /** The parameter and intermediate bytes of the CSI sequence being read. */
  private csi = '';
  /** Between ESC[200~ and ESC[201~: a paste, dropped. */
  private pasting = false;
  /** When this prompter first saw signing paused (r counts from the arming delay after). */
  private pausedSince: number | undefined;
  private cancelTick: (() => void) | undefined;
  private detach: (() => void) | undefined;
  private readonly clock: Clock;
  /** Requests already announced by `alert`. */
  private announced = new Set<string>();
  /** The grants list while it is open: what each number names, as drawn when opened. */
  private panel: GrantSummary[] | null = null;
  private panelNote = '';
  /** How many grants were live when the list opened (only MAX_PANEL are numbered). */
  private panelTotal = 0;
  private readonly onData = (chunk: Buffer) => {
    const keys: string[] = [];
    let pasted = false;
    for (const byte of chunk) {
      const k = this.scan(byte);
      if (k === 'interrupt') return this.o.onInterrupt();
      if (k === 'pasted') pasted = true;
      else if (k !== undefined) keys.push(k);
    }
    // One key per read is typing; more, or any bracketed paste, is a paste: none of it acts.
    if (pasted || keys.length > 1) return this.ignore(PASTE_IGNORED);
    if (keys.length === 1) this.keyChar(keys[0]!);
  };

  private readonly screen: LiveRegion;

  constructor(private readonly o: TerminalPrompterOptions) {
    this.clock = o.clock ?? (o.now ? { now: o.now, setTimer: realClock.setTimer } : realClock);
    if (o.screen) this.screen = o.screen;
    else if (o.output) this.screen = new LiveRegion(o.output);
    else throw new Error('TerminalPrompter needs a screen or an output stream');
  }

  start(): void {
    this.screen.setMode(BRACKETED_PASTE_ON);
    this.o.input.setRawMode(true);
    this.o.input.on('data', this.onData);
    this.o.input.resume();
    const offResize = this.screen.onResize(() => this.draw());
    const offBroker = this.o.broker.attach(this);
    this.detach = () => {
      offBroker();
      offResize();
    };
  }

  /** Stop for shutdown: requests still waiting are about to be denied; say so, clear timers. */
  stop(): void {
    this.detach?.();
    this.detach = undefined;
    this.cancelTick?.();
    this.cancelTick = undefined;
    this.o.input.off('data', this.onData);
    if (this.o.input.isTTY) this.o.input.setRawMode(false);
    this.o.input.pause();
    this.screen.setMode(BRACKETED_PASTE_OFF);
    const history = this.queue.flatMap((r) =>
      this.record(r, 'denied: the proxy is stopping (shutting-down)'),
    );
    this.queue = [];
    this.currentId = undefined;
    this.screen.render(history, []);
  }

  get current(): PendingRequest | undefined {
    return this.queue.find((r) => r.id === this.currentId);
  }

  update(queue: readonly PendingRequest[]): void {
    const now = this.clock.now();
    const present = new Set(queue.map((r) => r.id));
    const history = this.queue
      .filter((r) => !present.has(r.id))
      .flatMap((r) => this.record(r, this.outcomeOf(r, now)));
    this.queue = queue;
    const current = this.current ?? queue[0];
    const listed = current ? this.listFor(current) : [];
    // What the keys would answer changed: they wait again before they count. Only the
    // group keys wait when only the list changed, so a client that keeps changing its
    // list cannot keep y and n from answering the request on screen.
    if (current?.id !== this.currentId) {
      // A new request takes the screen (and its rows): the grants list closes.
      if (current) this.panel = null;
      this.armedAt = now + ARM_DELAY_MS;
      this.groupArmedAt = this.armedAt;
      this.ignoredNoteUntil = 0;
    } else if (listed.join() !== this.listed.join()) {
      this.groupArmedAt = now + ARM_DELAY_MS;
    }
    this.currentId = current?.id;
    this.listed = listed;
    this.draw(history);
    const fresh = queue.filter((r) => !this.announced.has(r.id));
    this.announced = present;
    for (const r of fresh) this.o.alert?.(r);
  }

  /** The current request and the group subjects listed under it: as many as fit. */
  private listFor(current: PendingRequest): string[] {
    const subjects = this.queue.filter((q) => q.group === current.group && q.id !== current.id);
    // blank, header, headline, details, countdown, "also waiting", "…more", two key lines, note
    const fixed = 9 + requestLines(current).length;
    const fit = Math.max(0, Math.min(MAX_LISTED, this.screen.maxRows - fixed));
    return [current.id, ...subjects.slice(0, fit).map((q) => q.id)];
  }

  private outcomeOf(r: PendingRequest, now: number): string {
    const answered = this.answering.get(r.id);
    if (answered) return answered;
    if (now >= r.deadline - DEADLINE_SLACK_MS) return 'timed out: denied (nobody answered in time)';
    if (this.o.broker.paused) return 'denied: signing was paused (signing-paused)';
    const why = this.o.whyWithdrawn?.(r);
    return `withdrawn: ${why ?? 'the client hung up, or it was answered elsewhere'}`;
  }

  /** A request that left the queue, and what became of it: two lines that stay on screen. */
  private record(r: PendingRequest, outcome: string): string[] {
    return [`  · ${headline(r.description)} — from ${r.client.name}`, `    → ${outcome}`];
  }

  private minutes(): number {
    return Math.round(this.o.broker.grantMs / 60_000);
  }

  private block(now: number): string[] {
    const lines = this.requestBlock(now);
    if (this.o.broker.paused)
      lines.push(
        '',
        '  Signing is PAUSED: every request is refused (signing-paused).   [r] resume',
      );
    // With no prompt on screen, the note that a key was ignored shows here.
    if (!this.current && now < this.ignoredNoteUntil) lines.push(`  ${this.ignoredNote}`);
    if (this.panel) lines.push('', ...this.panelLines(now));
    return lines;
  }

  private panelLines(now: number): string[] {
    const live = new Set(this.o.broker.grants().map((g) => g.id));
    const lines = [
      this.panel!.length === 0
        ? '  No live grants (they end when the proxy stops).   [g] close'
        : `  Live grants (${this.panel!.length}${this.panelTotal > this.panel!.length ? ` of ${this.panelTotal} shown` : ''}; they end when the proxy stops):   [1-${this.panel!.length}] revoke   [g] close`,
      ...this.panel!.map(
        (g, i) => `  [${i + 1}] ${formatGrant(g, now)}${live.has(g.id) ? '' : '   (ended)'}`,
      ),
    ];
    if (this.panelNote) lines.push(`  ${this.panelNote}`);
    return lines;
  }

  private requestBlock(now: number): string[] {
    const r = this.current;
    if (!r) return [];
    // Appending to a plain terminal cannot tick: it says when instead of how long.
    const expires = this.screen.interactive
      ? `Expires in ${Math.max(0, Math.ceil((r.deadline - now) / 1000))} s`
      : `Expires at ${new Date(r.deadline).toTimeString().slice(0, 8)}`;
    const lines = [
      '',
      `━━ ${promptTitle(r.description)} (${this.queue.indexOf(r) + 1} of ${this.queue.length}) ━━`,
      `  ${headline(r.description)}`,
      ...requestLines(r).map((l) => `  ${l.label.padEnd(11)} ${l.value}`),
      `  ${expires} (denied if unanswered)`,
    ];
    const subjects = this.listed.slice(1).map((id) => this.queue.find((q) => q.id === id)!);
    const more = this.queue.filter((q) => q.group === r.group).length - this.listed.length;
    if (subjects.length > 0) {
      lines.push(
        `  Also waiting from this client with this key and ${r.description.kind === 'ssh-auth' ? 'destination' : 'namespace'} (${subjects.length + more}):`,
        ...subjects.map((q) => `    · ${headline(q.description)}`),
      );
      if (more > 0)
        lines.push(`    · …and ${more} more, not answered by the keys below (shown next)`);
    }
    lines.push(
      `  [y] allow once   [a] allow for ${this.minutes()} min (${grantScope(r.description)})   [n] deny`,
    );
    const scope = programScope(r.client.program);
    if (scope)
      lines.push(
        `  [e] allow ${programScopeText(scope)} only, with this key for ${this.minutes()} min`,
      );
    if (subjects.length > 0) {
      const n = this.listed.length;
      lines.push(`  [Y] allow these ${n} once   [N] deny these ${n}   ([a] allows these ${n} too)`);
    }
    if (now < this.ignoredNoteUntil) lines.push(`  ${this.ignoredNote}`);
    return lines;
  }

  private draw(history: readonly string[] = []): void {
    const now = this.clock.now();
    this.notePause(now);
    this.screen.render(history, this.block(now));
    this.scheduleTick(now);
  }

  /** Redraw when the seconds shown change (and when the ignored-key note expires). */
  private scheduleTick(now: number): void {
    this.cancelTick?.();
    this.cancelTick = undefined;
    const r = this.current;
    if (!this.screen.interactive) return;
    const left = r ? r.deadline - now : Infinity;
    if (left <= 0) return; // the broker times it out and updates the queue
    const untilSecondChanges = r ? left % 1000 || 1000 : Infinity;
    const untilNoteGoes = this.ignoredNoteUntil > now ? this.ignoredNoteUntil - now : Infinity;
    if (untilSecondChanges === Infinity && untilNoteGoes === Infinity) return;
    this.cancelTick = this.clock.setTimer(
      () => {
        this.cancelTick = undefined;
        this.draw();
      },
      Math.min(untilSecondChanges, untilNoteGoes),
    );
  }

  /**
   * One byte read: a printable key outside any escape sequence or paste, 'interrupt' for
   * Ctrl-C, 'pasted' for a byte inside a bracketed paste, else nothing.
   */
  private scan(b: number): string | 'interrupt' | 'pasted' | undefined {
    // Skip escape sequences whole: ESC [ A (arrow up) must not read as "A".
    if (this.escape === 'esc') {
      this.escape = b === 0x5b ? 'csi' : b === 0x4f ? 'ss3' : 'none';
      this.csi = '';
      return this.pasting ? 'pasted' : undefined;
    }
    if (this.escape === 'csi') {
      if (b >= 0x40 && b <= 0x7e) {
        this.escape = 'none';
        const seq = this.csi + String.fromCharCode(b);
        if (seq === '200~') this.pasting = true;
        else if (seq === '201~') {
          this.pasting = false;
          return 'pasted';
        }
      } else if (this.csi.length < MAX_CSI_PARAMS) this.csi += String.fromCharCode(b);
      return this.pasting ? 'pasted' : undefined;
    }
    if (this.escape === 'ss3') {
      this.escape = 'none';
      return this.pasting ? 'pasted' : undefined;
    }
    if (b === 0x1b) {
      this.escape = 'esc';
      return this.pasting ? 'pasted' : undefined;
    }
    // Ctrl-C stops the proxy even inside a paste: a paste whose end never came must not
    // leave the person without a way out (stopping denies everything: fail-safe).
    if (b === 0x03) return 'interrupt';
    if (this.pasting) return 'pasted';
    return b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : undefined;
  }

  private keyChar(ch: string): void {
    if (ch === 'g' || ch === 'p' || ch === 'r' || (this.panel && ch >= '1' && ch <= '9'))
      return this.controlKey(ch);
    const action = KEYS[ch];
    if (action) this.key(action);
  }

  /** Say under the prompt (or the pause line) that a key was ignored, and why. */
  private ignore(note: string): void {
    this.ignoredNote = note;
    this.ignoredNoteUntil = this.clock.now() + IGNORED_NOTE_MS;
    this.draw();
  }

  /** Note when signing became paused (here, from the tray or another terminal). */
  private notePause(now: number): void {
    if (!this.o.broker.paused) this.pausedSince = undefined;
    else this.pausedSince ??= now;
  }

  /** g, p, r and the grant numbers: never an answer, and held back like one while a prompt arms. */
  private controlKey(ch: string): void {
    const now = this.clock.now();
    const ignore = (note: string) => this.ignore(note);
    if (this.current && now < this.armedAt) return ignore(IGNORED);
    // The list would share the screen's rows with the prompt, and its numbers must name
    // only what is drawn: it opens when nothing waits.
    if (ch === 'g' && this.current)
      return ignore('(g: the grants list opens when no request waits; answer this one first)');
    const log = this.o.log ?? silentLogger;
    const via = 'from the console keys';
    if (ch === 'g') {
      const all = this.o.broker.grants();
      this.panelTotal = all.length;
      this.panel = this.panel ? null : all.slice(0, MAX_PANEL).map(summarizeGrant);
      this.panelNote = '';
      return this.draw();
    }
    if (ch === 'p') {
      if (this.o.broker.paused) return ignore('(signing is already paused; [r] resumes it)');
      applyControl({ op: 'pause' }, this.o.broker, log, via); // the broker redraws through update()
      return this.draw();
    }
    if (ch === 'r') {
      if (!this.o.broker.paused) return;
      this.notePause(now);
      // Giving signing back waits like an answer: the pause must have been on screen for the
      // arming delay, and the last answer or queue change must be that long ago.
      const armed = this.armedAt === Infinity ? 0 : this.armedAt;
      if (now < this.pausedSince! + ARM_DELAY_MS || now < armed) return ignore(IGNORED);
      applyControl({ op: 'resume' }, this.o.broker, log, via);
      return this.draw();
    }
    const g = this.panel?.[Number(ch) - 1];
    if (!g) return;
    const a = applyControl({ op: 'revoke', id: g.id }, this.o.broker, log, via);
    this.panelNote = a.ok ? `revoked grant ${g.short}` : `grant ${g.short}: ${a.error}`;
    this.draw();
  }

  private key(action: Action): void {
    const r = this.current;
    if (!r) return; // typed with no prompt on screen
    const now = this.clock.now();
    const group =
      action === 'grant' ||
      action === 'program-grant' ||
      action === 'all-once' ||
      action === 'all-deny';
    if ((action === 'all-once' || action === 'all-deny') && this.listed.length < 2) return;
    // Not offered (no executable the host read): the key means nothing here.
    const scope = programScope(r.client.program);
    if (action === 'program-grant' && !scope) return;
    if (now < this.armedAt || (group && now < this.groupArmedAt)) {
      this.ignoredNote = IGNORED;
      this.ignoredNoteUntil = now + IGNORED_NOTE_MS;
      this.draw();
      return;
    }
    const ids = group ? [...this.listed] : [r.id];
    const answer: Answer =
      action === 'grant'
        ? 'allow-for-grant'
        : action === 'program-grant'
          ? 'allow-program-for-grant'
          : action === 'once' || action === 'all-once'
            ? 'allow-once'
            : 'deny';
    const label =
      answer === 'deny'
        ? 'denied'
        : answer === 'allow-once'
          ? 'allowed once'
          : answer === 'allow-program-for-grant' && scope
            ? `allowed, and granted for ${this.minutes()} min to ${programScopeText(scope)} only (${grantScope(r.description)})`
            : `allowed, and granted for ${this.minutes()} min (${grantScope(r.description)})`;
    this.answering = new Map(
      ids.map((id) => [
        id,
        (answer === 'allow-for-grant' || answer === 'allow-program-for-grant') && id !== r.id
          ? 'allowed (with that grant)'
          : label,
      ]),
    );
    this.armedAt = now + ARM_DELAY_MS;
    this.groupArmedAt = this.armedAt;
    try {
      // The broker calls update() before it returns; the outcomes come out there.
      this.o.broker.answer(ids.length === 1 ? { id: r.id } : { ids }, answer);
    } finally {
      this.answering.clear();
    }
  }
}
