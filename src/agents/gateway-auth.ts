// The identity step of a running gateway, put together from the live policy: agent tokens (policy file and the
// store beside gateway.state) and JWTs (gateway.auth.jwt), under gateway.auth.mode.
import path from 'node:path';
import type { LivePolicy } from '../config/live.js';
import type { Logger } from '../log.js';
import { createGatewayAuth, type GatewayAuth } from './authenticate.js';
import { createJwtVerifier } from './jwt.js';
import { openAgentStore } from './open.js';
import { createTokenAuthenticator } from './tokens.js';

export function createAgentAuth(live: LivePolicy, log: Logger): GatewayAuth {
  const config = () => live.current().config;
  const tokens = createTokenAuthenticator({
    config,
    store: () => openAgentStore(config().gateway.state, config().gateway.state_prefix),
    warn: (message) => log.warn(message),
  });
  const jwtConfig = () => config().gateway.auth?.jwt;
  const verifier = createJwtVerifier(jwtConfig, live.file ? path.dirname(live.file) : process.cwd(), {
    serversOf: (agent) => (Object.hasOwn(config().agents, agent) ? config().agents[agent]!.servers : undefined),
  });
  return createGatewayAuth({
    configuredMode: () => config().gateway.auth?.mode,
    tokens,
    jwt: () => (jwtConfig() ? verifier : undefined),
    failMode: () => config().gateway.fail_mode,
    warn: (message) => log.error(message),
  });
}
