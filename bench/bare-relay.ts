// The benchmark's floor: the thinnest Streamable HTTP relay node:http allows (one JSON.parse, upstream bytes piped back),
// with no policy and no session mapping. What a gateway costs beyond this row is the gateway's own work.
//
//   node dist/bench/bare-relay.js UPSTREAM_URL    prints "bare-relay: listening on http://127.0.0.1:N" on stderr
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const target = process.argv[2];
if (!target) {
  process.stderr.write('usage: bare-relay.js UPSTREAM_URL\n');
  process.exit(2);
}
const upstream = new URL(target);
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
const REQUEST_HEADERS = ['accept', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'];
const RESPONSE_HEADERS = ['content-type', 'cache-control', 'mcp-session-id'];

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    // The one parse every real gateway needs to decide anything; the result is deliberately unused.
    if (body) JSON.parse(body);
    const headers: Record<string, string> = {};
    for (const h of REQUEST_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    if (body) headers['content-length'] = String(Buffer.byteLength(body));
    const up = http.request(
      { host: upstream.hostname, port: upstream.port, path: upstream.pathname, method: req.method ?? 'POST', headers, agent },
      (upRes) => {
        const out: Record<string, string> = {};
        for (const h of RESPONSE_HEADERS) {
          const v = upRes.headers[h];
          if (typeof v === 'string') out[h] = v;
        }
        res.writeHead(upRes.statusCode ?? 502, out);
        upRes.pipe(res);
      },
    );
    up.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    up.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`bare-relay: listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
