// The signing routes' work — what /sign, /publickey and /keys do on top of the agent and
// the broker (design lifecycle steps 2–6) — and the two checks the agent endpoint shares
// with them: which keys a client may use, and whether its token is still in force.
import type { Identity } from './agent/agent-client.js';
import type { AgentSigner } from './agent/agent-signer.js';
import {
  allowedBy,
  parseKeySpec,
  parseRequestedKey,
  selectKey,
  type KeyPolicy,
  type RequestedKey,
} from './agent/key-selection.js';
import type { ApprovalBroker, KeyInfo } from './approval/approval-broker.js';
import type { ClientInfo, TokenLimits } from './approval/client.js';
import { describe, isGitObject, summarize } from './approval/describe.js';
import type { TokenStore } from './approval/token-store.js';
import type { Config } from './config/config.js';
import { ProxyError } from './errors.js';
import type { ProxyApi, RequestContext } from './http/http-server.js';
import { authorizedKeyLine, keyLabel } from './ssh/keys.js';
import { isValidNamespace } from './ssh/sshsig.js';

export function keyInfo(id: Identity): KeyInfo {
  return {
    fingerprint: id.fingerprint,
    type: id.key.type,
    comment: id.comment,
    label: keyLabel(id.key),
  };
}

export interface SignApiDeps {
  config: Config;
  broker: ApprovalBroker;
  signer: AgentSigner;
  tokens: TokenStore;
  /** The container-side shim served at GET /shim. */
  shimText: string;
  /** Re-read the token file and act on tokens that died (drop their prompts and grants). */
  refreshTokens: () => void;
  /** Resolves when the audit log can be written; rejects (503 audit-unavailable) while not. */
  auditReady: () => Promise<void>;
}

export interface SignApi {
  api: ProxyApi;
  /** The keys a client may use: the pin, narrowed by its token's key limits. */
  keyPolicy: (token?: TokenLimits) => KeyPolicy;
  /** Throws 401 when the client's token is no longer in force. */
  stillAuthorized: (client: ClientInfo) => void;
}

export function createSignApi(deps: SignApiDeps): SignApi {
  const { config, broker, signer, tokens } = deps;

  /** Before each later step: the request's token is still in force (never re-looked-up by name). */
  const stillAuthorized = (client: ClientInfo) => {
    if (!client.token) return;
    // Through the proxy's refresh first: a revocation noticed here also withdraws that
    // token's prompts and grants, whoever's request noticed it.
    deps.refreshTokens();
    tokens.check(client.token);
  };

  const keyPolicy = (token?: TokenLimits): KeyPolicy => ({
    pinned: config.pinnedFingerprint ? new Set([config.pinnedFingerprint]) : null,
    tokenKeys: token && token.keys.length > 0 ? new Set(token.keys) : null,
  });
  const requestedKey = (spec: string | undefined) =>
    spec === undefined ? undefined : parseKeySpec(spec, 'the key parameter');

  /**
   * A request that names its key in full, when no person must be asked (policy allow or a
   * live grant), goes straight to SIGN_REQUEST: one agent round trip fewer (it matters
   * for slow agents: 1Password, a YubiKey). Nothing is cached — the agent still decides
   * whether it holds the key — and only when it refuses is it asked for its list, to tell
   * `key-not-found` from `agent-refused`. Returns null when the ordinary path must run.
   */
  const signNamedKey = async (
    ctx: RequestContext,
    requested: RequestedKey,
    namespace: string,
    body: Buffer,
  ): Promise<string | null> => {
    const key = requested.key;
    const policy = keyPolicy(ctx.client.token);
    if (!key?.signing || !allowedBy(policy, requested.fingerprint)) return null;
    const id: Identity = { key, comment: '', fingerprint: requested.fingerprint };
    const quick = broker.decideWithoutPrompt(ctx.client, keyInfo(id), namespace);
    if (!quick) return null;
    ctx.fingerprint = id.fingerprint;
    ctx.decision = quick;
    if (!quick.allowed) throw quick.error;
    // The token was re-checked when sign() began, with no wait since: nothing to re-check.
    return signer.session(async (conn) => {
      try {
        return await signer.sign(id, namespace, body, conn);
      } catch (err) {
        if (!(err instanceof ProxyError) || err.code !== 'agent-refused') throw err;
        // Refused: because it does not hold the key (404, saying what it holds), or not.
        // (An oddly framed refusal ends the connection: then ask on another.)
        const held = conn.reusable ? await conn.listIdentities() : await signer.listKeys();
        selectKey(held, policy, requested.fingerprint);
        throw err;
      }
    });
  };

  /** Waits (within the lookup's budget) for the connection's program, for a prompt to show. */
  const programFound = async (ctx: RequestContext): Promise<void> => {
    if (!ctx.program || ctx.client.program) return;
    const found = await ctx.program.wait();
    if (found) ctx.client = { ...ctx.client, program: found };
  };

  const resolveNamespace = (ns: string | undefined, token?: TokenLimits): string => {
    const chosen = ns ?? config.namespace;
    if (!isValidNamespace(chosen))
      throw new ProxyError(
        400,
        'bad-namespace',
        'namespace must be 1-64 of letters, digits, @._+-',
      );
    if (!config.namespaces.includes(chosen)) {
      throw new ProxyError(
        403,
        'namespace-not-allowed',
        `namespace "${chosen}" is not allowed (see SSH_AGENT_PROXY_NAMESPACES)`,
      );
    }
    if (token && token.namespaces.length > 0 && !token.namespaces.includes(chosen)) {
      throw new ProxyError(
        403,
        'namespace-not-allowed',
        `the token "${token.name}" may not sign in namespace "${chosen}"`,
      );
    }
    return chosen;
  };

  const api: ProxyApi = {
    async sign(ctx: RequestContext, input) {
      // The limits are the ones the request was authenticated with; the token must still
      // be in force after the body arrived, before a person is asked and before the agent.
      const token = ctx.client.token;
      stillAuthorized(ctx.client);
      // Nothing is signed that could not be recorded: not even a person is asked.
      await deps.auditReady();
      const namespace = resolveNamespace(input.namespace, token);
      ctx.namespace = namespace;
      const description = describe(input.body);
      ctx.what = summarize(description);
      if ((config.gitOnly || token?.gitOnly) && !isGitObject(description)) {
        throw new ProxyError(
          422,
          'not-a-git-object',
          `only git commits, tags and push certificates may be signed${token?.gitOnly ? ` with the token "${token.name}"` : ''}`,
        );
      }
      const named =
        input.keySpec === undefined
          ? undefined
          : parseRequestedKey(input.keySpec, 'the key parameter');
      const requested = named?.fingerprint;
      const pre = broker.precheck();
      if (pre && !pre.allowed) {
        ctx.decision = pre;
        throw pre.error;
      }
      if (named) {
        const fast = await signNamedKey(ctx, named, namespace, input.body);
        if (fast !== null) return fast;
      }
      // Step 4, and step 6 on the same connection when no person needs to be asked.
      let chosen: Identity | undefined;
      const early = await signer.session(async (conn) => {
        chosen = await signer.resolveKey(keyPolicy(token), requested, conn);
        ctx.fingerprint = chosen.fingerprint;
        stillAuthorized(ctx.client);
        const quick = broker.decideWithoutPrompt(ctx.client, keyInfo(chosen), namespace);
        if (!quick) return null;
        ctx.decision = quick;
        if (!quick.allowed) throw quick.error;
        return signer.sign(chosen, namespace, input.body, conn);
      });
      if (early !== null) return early;
      // Step 5: a person decides (the agent connection is closed meanwhile). The prompt
      // names the program, so this path — and only this one — waits for its lookup.
      await programFound(ctx);
      const decision = await broker.decide(
        ctx.client,
        keyInfo(chosen!),
        namespace,
        description,
        ctx.signal,
      );
      ctx.decision = decision;
      if (!decision.allowed) throw decision.error;
      stillAuthorized(ctx.client);
      return signer.sign(chosen!, namespace, input.body);
    },
    async publicKey(ctx, keySpec) {
      const id = await signer.resolveKey(keyPolicy(ctx.client.token), requestedKey(keySpec));
      ctx.fingerprint = id.fingerprint;
      return authorizedKeyLine(id.key, id.comment);
    },
    async keys(ctx) {
      // Only what this caller may use: the pin and its token's key limits apply here too.
      const policy = keyPolicy(ctx.client.token);
      return (await signer.listKeys())
        .filter((id) => allowedBy(policy, id.fingerprint))
        .map((id) => ({
          type: id.key.type,
          fingerprint: id.fingerprint,
          comment: id.comment,
          publicKey: authorizedKeyLine(id.key, id.comment),
          usable: id.key.signing !== null,
        }));
    },
    shim: () => deps.shimText,
  };

  return { api, keyPolicy, stillAuthorized };
}
