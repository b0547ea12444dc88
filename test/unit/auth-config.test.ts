// gateway.auth in policylayer.yaml: the shorthand, the JWT defaults, and every mistake reported at file:line with a fix.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig, type ConfigProblem } from '../../src/config/load.js';

const F = 'policy.yaml';

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfig(text, F, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the config was accepted');
}

const where = (p: ConfigProblem) => `${p.line}:${p.column} ${p.path}`;

/** A file whose gateway.auth.jwt holds these lines (indented under `jwt:`, which is line 4). */
const withJwt = (...lines: string[]) =>
  ['version: 1', 'gateway:', '  auth:', '    jwt:', ...lines.map((l) => `      ${l}`), ''].join('\n');

describe('gateway.auth', () => {
  test('absent, it stays undefined (the gateway picks the mode)', () => {
    assert.equal(parseConfig('version: 1\n', F, {}).gateway.auth, undefined);
  });

  test('`gateway.auth: required` is shorthand for { mode: required }', () => {
    assert.deepEqual(parseConfig('version: 1\ngateway:\n  auth: required\n', F, {}).gateway.auth, { mode: 'required' });
    assert.deepEqual(parseConfig('version: 1\ngateway:\n  auth: { mode: off }\n', F, {}).gateway.auth, { mode: 'off' });
  });

  test('a JWT section gets its defaults: agent from sub, three asymmetric algorithms, 30s of clock skew', () => {
    const auth = parseConfig(withJwt('issuer: https://id.example.com/', 'audience: gw', 'jwks_url: https://id.example.com/jwks'), F, {}).gateway.auth;
    assert.deepEqual(auth, {
      jwt: {
        issuer: 'https://id.example.com/',
        audience: 'gw',
        jwks_url: 'https://id.example.com/jwks',
        agent_claim: 'sub',
        algorithms: ['RS256', 'ES256', 'EdDSA'],
        clock_skew: '30s',
      },
    });
  });

  test('a misspelt mode and a misspelt key are pointed at, with the right word', () => {
    const [mode] = problemsOf('version: 1\ngateway:\n  auth: requird\n');
    assert.equal(where(mode!), '3:9 gateway.auth');
    assert.match(mode!.hint ?? '', /did you mean `required`/);
    const [key] = problemsOf('version: 1\ngateway:\n  auth:\n    mdoe: required\n');
    assert.equal(where(key!), '4:5 gateway.auth.mdoe');
    assert.match(key!.hint ?? '', /did you mean `mode`/);
  });

  test('both jwks_url and jwks_file, or neither, is a problem at the right line', () => {
    const both = problemsOf(withJwt('issuer: https://id.example.com/', 'audience: gw', 'jwks_url: https://id.example.com/jwks', 'jwks_file: keys.json'));
    assert.deepEqual(both.map(where), ['8:7 gateway.auth.jwt.jwks_file']);
    assert.match(both[0]!.message, /either `jwks_url` or `jwks_file`, not both/);
    const neither = problemsOf(withJwt('issuer: https://id.example.com/', 'audience: gw'));
    assert.deepEqual(neither.map(where), ['4:5 gateway.auth.jwt']);
    assert.match(neither[0]!.message, /need one of `jwks_url` or `jwks_file`/);
  });

  test('clock_skew above 5m, or not a duration, is refused', () => {
    const base = ['issuer: https://id.example.com/', 'audience: gw', 'jwks_file: keys.json'];
    const big = problemsOf(withJwt(...base, 'clock_skew: 10m'));
    assert.deepEqual(big.map(where), ['8:7 gateway.auth.jwt.clock_skew']);
    assert.match(big[0]!.message, /at most 5m/);
    assert.deepEqual(problemsOf(withJwt(...base, 'clock_skew: soon')).map(where), ['8:7 gateway.auth.jwt.clock_skew']);
  });

  test('HS256 and none are not algorithms one can allow', () => {
    const problems = problemsOf(withJwt('issuer: https://id.example.com/', 'audience: gw', 'jwks_file: k.json', 'algorithms: [HS256, none]'));
    assert.deepEqual(problems.map(where), ['8:20 gateway.auth.jwt.algorithms[0]', '8:27 gateway.auth.jwt.algorithms[1]']);
  });

  test('jwks_url must be https, except to loopback', () => {
    const http = problemsOf(withJwt('issuer: https://id.example.com/', 'audience: gw', 'jwks_url: http://id.example.com/jwks'));
    assert.deepEqual(http.map(where), ['7:7 gateway.auth.jwt.jwks_url']);
    assert.match(http[0]!.message, /https:\/\//);
    for (const host of ['127.0.0.1:8080', 'localhost', '[::1]:9000']) {
      parseConfig(withJwt('issuer: https://id.example.com/', 'audience: gw', `jwks_url: http://${host}/jwks`), F, {});
    }
  });

  test('an issuer that is not a URL needs authorization_servers for the metadata', () => {
    const problems = problemsOf(withJwt('issuer: my-idp', 'audience: gw', 'jwks_file: k.json'));
    assert.deepEqual(problems.map(where), ['5:15 gateway.auth.jwt.issuer']);
    assert.match(problems[0]!.hint ?? '', /authorization_servers/);
    parseConfig(withJwt('issuer: my-idp', 'audience: gw', 'jwks_file: k.json', 'authorization_servers: [https://login.example.com]'), F, {});
  });
});
