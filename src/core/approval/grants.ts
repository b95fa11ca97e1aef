// Grants: "allow this client with this key in this namespace for N minutes", optionally
// for at most M signatures. Kept in memory only, so they end when the proxy stops. A
// grant belongs to the client's stable id: a new token reusing a name gets none of it.
// A grant may also name the program (program-scope.ts): then it covers only requests of
// that client from that executable — a narrower grant, never a wider one.
import { randomUUID } from 'node:crypto';
import type { KeyInfo } from './approval-broker.js';
import type { ClientInfo } from './client.js';
import { inProgramScope, type ProgramScope } from './program-scope.js';

export interface Grant {
  id: string;
  client: ClientInfo;
  fingerprint: string;
  keyLabel: string;
  namespace: string;
  createdAt: number;
  expiresAt: number;
  /** null = unlimited */
  maxUses: number | null;
  uses: number;
  /** Present on a program-scoped grant: only that executable's requests are covered. */
  program?: ProgramScope;
}

export class GrantBook {
  private readonly byId = new Map<string, Grant>();

  constructor(
    private readonly now: () => number,
    /** Read when a grant is made, so a settings change applies to the next one. */
    private readonly terms: () => { ms: number; maxUses: number },
  ) {}

  private spent(g: Grant): boolean {
    return g.expiresAt <= this.now() || (g.maxUses !== null && g.uses >= g.maxUses);
  }

  /** The live grants (expired and used-up ones are dropped here). */
  all(): Grant[] {
    for (const [id, g] of this.byId) if (this.spent(g)) this.byId.delete(id);
    return [...this.byId.values()];
  }

  find(client: ClientInfo, fingerprint: string, namespace: string): Grant | undefined {
    return this.all().find(
      (g) =>
        g.client.id === client.id &&
        g.fingerprint === fingerprint &&
        g.namespace === namespace &&
        (!g.program || inProgramScope(g.program, client.program)),
    );
  }

  add(client: ClientInfo, key: KeyInfo, namespace: string, program?: ProgramScope): Grant {
    const now = this.now();
    const { ms, maxUses } = this.terms();
    const g: Grant = {
      id: randomUUID(),
      client,
      fingerprint: key.fingerprint,
      keyLabel: key.label,
      namespace,
      createdAt: now,
      expiresAt: now + ms,
      maxUses: maxUses > 0 ? maxUses : null,
      uses: 0,
      ...(program ? { program } : {}),
    };
    this.byId.set(g.id, g);
    return g;
  }

  /** Spend one signature of `g`; false when it has none left. */
  use(g: Grant): boolean {
    if (this.spent(g)) return false;
    g.uses++;
    if (this.spent(g)) this.byId.delete(g.id);
    return true;
  }

  revoke(id: string): boolean {
    return this.byId.delete(id);
  }

  revokeToken(tokenId: string): void {
    for (const [id, g] of this.byId) if (g.client.token?.id === tokenId) this.byId.delete(id);
  }

  clear(): void {
    this.byId.clear();
  }
}
