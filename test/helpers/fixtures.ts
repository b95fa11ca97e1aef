// Shared test material: a real agent holding one fresh key, git commit objects, tokens.
import { join } from 'node:path';
import {
  makeKey,
  run,
  startAgent,
  tempDir,
  type Agent,
  type KeyKind,
  type TestKey,
} from './openssh.js';
import type { PendingRequest } from '../../src/core/approval/approval-broker.js';
import type { Description } from '../../src/core/approval/describe.js';
import { CLI } from './proxy.js';
import { startRecordingRelay, type RecordingRelay } from './recording-relay.js';

export interface AgentWithKey {
  dir: string;
  agent: Agent;
  key: TestKey;
}

/** A temp dir, a real ssh-agent in it, and one new key loaded into it. */
export async function agentWithKey(
  kind: KeyKind = 'ed25519',
  name: string = kind,
): Promise<AgentWithKey> {
  const dir = tempDir();
  const agent = await startAgent(dir);
  const key = await makeKey(dir, kind, name);
  await agent.add(key);
  return { dir, agent, key };
}

export interface RelayedAgent extends AgentWithKey {
  /** A second key (ECDSA P-256) in the same agent. */
  key2: TestKey;
  /** In front of the agent: counts every message that reaches it, by type. */
  relay: RecordingRelay;
}

/** A real agent holding an Ed25519 and an ECDSA key, behind a recording relay. */
export async function relayedAgent(
  names: [string, string] = ['main', 'second'],
): Promise<RelayedAgent> {
  const { dir, agent, key } = await agentWithKey('ed25519', names[0]);
  const key2 = await makeKey(dir, 'ecdsa256', names[1]);
  await agent.add(key2);
  return { dir, agent, key, key2, relay: await startRecordingRelay(dir, agent.sock) };
}

/** The agent message type a signature is asked for with (the relay counts these). */
export const SIGN_REQUEST = 13;

export interface CommitOptions {
  author?: string;
  committer?: string;
  parent?: string | null;
}

/** The bytes git signs for a commit (what the shim posts). */
export function commitObject(subject: string, o: CommitOptions = {}): Buffer {
  const author = o.author ?? 'Ana Example <ana@example.test>';
  const parent = o.parent === undefined ? '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b' : o.parent;
  return Buffer.from(
    `tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\n${parent ? `parent ${parent}\n` : ''}author ${author} 1700000000 +0100\ncommitter ${o.committer ?? author} 1700000000 +0100\n\n${subject}\n`,
  );
}

/** `ssh-agent-proxy token create …` through the built CLI; returns the token. */
export async function createToken(
  configDir: string,
  name: string,
  ...args: string[]
): Promise<string> {
  const r = await run(process.execPath, [
    CLI,
    'token',
    'create',
    name,
    ...args,
    '--config-dir',
    configDir,
  ]);
  if (r.code !== 0) throw new Error(`token create failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').at(-1)!;
}

export const configDirIn = (dir: string) => join(dir, 'cfg');

/** A pending request around `description`, for tests of what a person is shown. */
export function pendingFor(description: Description): PendingRequest {
  return {
    id: 'x',
    client: { id: 'c', name: 'c', address: 'a' },
    key: { fingerprint: 'f', type: 't', comment: '', label: 'L' },
    namespace: 'git',
    description,
    receivedAt: 0,
    deadline: 0,
    group: 'g',
  };
}
