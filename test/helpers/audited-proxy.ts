// The proxy in this process with its audit records kept in memory, and a person who answers
// each prompt the same way: the setup of the tests that read what the proxy recorded.
import type { Answer, PendingRequest } from '../../src/core/approval/approval-broker.js';
import type { AuditRecord } from '../../src/core/approval/audit.js';
import type { ProxyOptions } from '../../src/core/proxy.js';
import { startTestProxy, type TestProxy } from './proxy.js';

export interface AuditedProxy extends TestProxy {
  /** Every record the proxy wrote, in the order written. */
  audit: AuditRecord[];
}

/** `startTestProxy` (silent log) whose audit writes land in `audit`. */
export async function startAuditedProxy(
  env: Record<string, string>,
  extra: Partial<ProxyOptions> = {},
): Promise<AuditedProxy> {
  const audit: AuditRecord[] = [];
  const tp = await startTestProxy(env, undefined, {
    ...extra,
    audit: { write: (r) => void audit.push(r) },
  });
  return { ...tp, audit };
}

/**
 * Answer each request put to a person with `answer`, once; `then` runs right after each
 * answer. Returns the requests seen, in order.
 */
export function answerEach(
  p: TestProxy,
  answer: Answer,
  then: (q: PendingRequest) => void = () => {},
): PendingRequest[] {
  const seen: PendingRequest[] = [];
  p.proxy.broker.attach({
    update(queue) {
      for (const q of queue) {
        if (seen.some((s) => s.id === q.id)) continue;
        seen.push(q);
        p.proxy.broker.answer({ id: q.id }, answer);
        then(q);
      }
    },
  });
  return seen;
}
