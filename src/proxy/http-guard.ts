// DNS-rebinding guard: a browser page on another site must not reach the gateway through a name that resolves here.
import type { IncomingMessage } from 'node:http';

export interface HostGuard {
  /** Returns why the request is refused, or null when it may proceed. */
  check(req: IncomingMessage): string | null;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function createHostGuard(listenHost: string, port: number, allowedHosts: string[], allowedOrigins: string[]): HostGuard {
  const hosts = new Set<string>(allowedHosts.map((h) => h.toLowerCase()));
  for (const h of [...LOOPBACK, listenHost]) {
    if (h === '0.0.0.0' || h === '::' || h === '[::]') continue;
    hosts.add(`${h}:${port}`.toLowerCase());
    if (port === 80) hosts.add(h.toLowerCase());
  }
  const origins = new Set(allowedOrigins.map((o) => o.toLowerCase().replace(/\/$/, '')));
  return {
    check(req) {
      const host = (req.headers.host ?? '').toLowerCase();
      if (!hosts.has(host)) {
        return `Host "${host}" is not served here; add it to gateway.allowed_hosts if this name is meant to reach the gateway`;
      }
      const origin = req.headers.origin;
      if (origin === undefined) return null;
      const o = origin.toLowerCase();
      if (origins.has(o)) return null;
      try {
        if (LOOPBACK.has(new URL(o).hostname)) return null;
      } catch {
        /* fall through: unparsable origin is refused */
      }
      return `Origin "${origin}" is not allowed; add it to gateway.allowed_origins to let that page call the gateway`;
    },
  };
}
