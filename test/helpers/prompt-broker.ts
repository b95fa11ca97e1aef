// A real approval broker that asks a person (policy `prompt`), with room for 64 pending
// requests: the broker of the tests that drive a prompter or the control channel directly.
import { ApprovalBroker } from '../../src/core/approval/approval-broker.js';
import type { Clock } from '../../src/core/clock.js';

export function promptBroker(clock?: Clock): ApprovalBroker {
  return new ApprovalBroker({
    policy: 'prompt',
    timeoutMs: 60_000,
    grantMs: 600_000,
    grantMaxUses: 0,
    maxPending: 64,
    maxPendingPerClient: 64,
    ...(clock ? { clock } : {}),
  });
}
