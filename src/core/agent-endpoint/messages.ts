// Agent-protocol message numbers the endpoint answers or refuses (draft-miller-ssh-agent,
// OpenSSH's authfd.h). The ones the proxy already speaks upstream live in agent-client.ts.
export {
  SSH_AGENT_FAILURE,
  SSH_AGENTC_REQUEST_IDENTITIES,
  SSH_AGENT_IDENTITIES_ANSWER,
  SSH_AGENTC_SIGN_REQUEST,
  SSH_AGENT_SIGN_RESPONSE,
  MAX_AGENT_FRAME,
} from '../agent/agent-client.js';

export const SSH_AGENT_SUCCESS = 6;
export const SSH_AGENTC_EXTENSION = 27;
export const SSH_AGENT_EXTENSION_FAILURE = 28;
export const SSH_AGENT_EXTENSION_RESPONSE = 29;

/** Sign-request flags (draft-miller-ssh-agent §4.5.1). */
export const SSH_AGENT_RSA_SHA2_256 = 2;
export const SSH_AGENT_RSA_SHA2_512 = 4;

export const SESSION_BIND = 'session-bind@openssh.com';
export const QUERY = 'query';
