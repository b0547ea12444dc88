// Admin roles: the role table (each endpoint's role, unlisted ones admin-only), the role order, which admin a bearer
// token proves (gateway.admin_token as `admin`, gateway.admin_tokens by hash or env), and the config's checks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADMIN_ENDPOINTS, createAdminCredentials, requiredRole, roleAllows, type AdminRole } from '../../src/admin/roles.js';
import { tokenSha256 } from '../../src/agents/tokens.js';
import { adminEvent } from '../../src/audit/admin-record.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';

type Settings = Pick<GatewayConfig, 'admin_token' | 'admin_tokens'>;

describe('admin role table', () => {
  test('reading is viewer, deciding approvals is approver, anything unlisted is admin', () => {
    const cases: [string, string, AdminRole][] = [
      ['GET', '/metrics', 'viewer'],
      ['GET', '/admin/audit', 'viewer'],
      ['GET', '/admin/approvals', 'viewer'],
      ['GET', '/admin/approvals/', 'viewer'],
      ['GET', '/admin/approvals/stream', 'viewer'],
      ['GET', '/admin/approvals/Xk3d9QeF', 'viewer'],
      ['POST', '/admin/approvals/Xk3d9QeF/approve', 'approver'],
      ['POST', '/admin/approvals/Xk3d9QeF/deny', 'approver'],
      // Not endpoints (or not with this method): fail closed, so a forgotten table entry is never open to viewers.
      ['POST', '/admin/approvals', 'admin'],
      ['GET', '/admin/approvals/Xk3d9QeF/approve', 'admin'],
      ['DELETE', '/admin/audit', 'admin'],
      ['GET', '/admin/agents', 'admin'],
      ['GET', '/admin', 'admin'],
      ['GET', '/admin/audit/../approvals/x/approve', 'admin'],
    ];
    for (const [method, path, role] of cases) assert.equal(requiredRole(method, path), role, `${method} ${path}`);
    assert.deepEqual(
      ADMIN_ENDPOINTS.map((e) => `${e.shown} ${e.role}`),
      [
        'GET /metrics viewer',
        'GET /admin/audit viewer',
        'GET /admin/approvals viewer',
        'GET /admin/approvals/stream viewer',
        'GET /admin/approvals/ID viewer',
        'POST /admin/approvals/ID/approve|deny approver',
      ],
      'the README table lists exactly these',
    );
  });

  test('each role includes the ones below it and none above', () => {
    const allowed = (['viewer', 'approver', 'admin'] as const).map((have) => (['viewer', 'approver', 'admin'] as const).filter((need) => roleAllows(have, need)));
    assert.deepEqual(allowed, [['viewer'], ['viewer', 'approver'], ['viewer', 'approver', 'admin']]);
  });
});

describe('admin credentials', () => {
  const ALICE = 'alice-approver-token-0123456789';
  const VIC = 'vic-viewer-token-0123456789abcd';
  const LEGACY = 'legacy-admin-token-0123456789';

  test('admin_token is the admin named admin; admin_tokens by hash and by env; unknown or empty is nobody', () => {
    process.env.PL_TEST_VIEWER_TOKEN = VIC;
    const warnings: string[] = [];
    const settings: Settings = {
      admin_token: LEGACY,
      admin_tokens: {
        alice: { token_sha256: tokenSha256(ALICE).toUpperCase(), role: 'approver' },
        vic: { token_env: 'PL_TEST_VIEWER_TOKEN', role: 'viewer' },
        ghost: { token_env: 'PL_TEST_UNSET_ADMIN_TOKEN', role: 'admin' },
      },
    };
    delete process.env.PL_TEST_UNSET_ADMIN_TOKEN;
    const creds = createAdminCredentials(() => settings, (m) => warnings.push(m));
    assert.equal(creds.enabled(), true);
    assert.deepEqual(creds.authenticate(LEGACY), { name: 'admin', role: 'admin' });
    assert.deepEqual(creds.authenticate(ALICE), { name: 'alice', role: 'approver' });
    assert.deepEqual(creds.authenticate(VIC), { name: 'vic', role: 'viewer' });
    for (const nobody of [undefined, '', 'wrong-token', tokenSha256(ALICE), `${ALICE} `]) assert.equal(creds.authenticate(nobody), undefined, String(nobody));
    // An unset variable leaves that admin unable to authenticate (and says so once per policy), never open.
    assert.equal(creds.authenticate(''), undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /gateway\.admin_tokens\.ghost\.token_env: environment variable PL_TEST_UNSET_ADMIN_TOKEN is not set/);
    delete process.env.PL_TEST_VIEWER_TOKEN;
  });

  test('no token at all: the admin API is off; a reload that removes a token removes its access', () => {
    let settings: Settings = {};
    const creds = createAdminCredentials(() => settings);
    assert.equal(creds.enabled(), false);
    assert.equal(creds.authenticate(LEGACY), undefined);
    settings = { admin_tokens: { alice: { token_sha256: tokenSha256(ALICE), role: 'approver' } } };
    assert.equal(creds.enabled(), true);
    assert.deepEqual(creds.authenticate(ALICE), { name: 'alice', role: 'approver' });
    settings = { admin_token: LEGACY };
    assert.equal(creds.authenticate(ALICE), undefined);
  });
});

describe('gateway.admin_tokens in the policy file', () => {
  const problems = (text: string) => {
    try {
      parseConfig(text, 'policy.yaml', {});
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.problems.map((p) => `${p.line} ${p.path}: ${p.message}`);
    }
    assert.fail('the file was accepted');
  };

  test('a bad role, hash, both or neither token sources, the reserved name and a shared hash are reported at their line', () => {
    const hash = 'a'.repeat(64);
    const text = [
      'version: 1', //                                                        1
      'gateway:', //                                                          2
      '  admin_tokens:', //                                                   3
      '    ann: { token_sha256: abc, role: viewer }', //                      4
      '    bob: { token_env: BOB, role: owner }', //                          5
      `    cy: { token_sha256: ${hash}, token_env: CY, role: admin }`, //     6
      '    dee: { role: viewer }', //                                         7
      `    admin: { token_sha256: ${'b'.repeat(64)}, role: admin }`, //       8
      `    eve: { token_sha256: ${hash}, role: viewer }`, //                  9
      `    fay: { token_sha256: ${hash.toUpperCase()}, role: viewer }`, //    10
      'servers: {}', //                                                       11
    ].join('\n');
    const found = problems(text);
    const at = (line: number) => found.filter((p) => p.startsWith(`${line} `));
    assert.match(at(4).join(), /gateway\.admin_tokens\.ann\.token_sha256: .*expected the SHA-256/);
    assert.match(at(5).join(), /gateway\.admin_tokens\.bob\.role/);
    assert.match(at(6).join(), /exactly one of `token_sha256` or `token_env`/);
    assert.match(at(7).join(), /exactly one of `token_sha256` or `token_env`/);
    assert.match(at(8).join(), /name `admin` is taken by `gateway\.admin_token`/);
    assert.match(at(10).join(), /admin tokens `cy` and `fay` have the same token|admin tokens `eve` and `fay` have the same token/);
  });

  test('a valid section loads', () => {
    const config = parseConfig(`version: 1\ngateway:\n  admin_tokens:\n    alice: { token_sha256: ${'c'.repeat(64)}, role: approver }\n    vic: { token_env: VIC, role: viewer }\n`, 'policy.yaml', {});
    assert.deepEqual(Object.keys(config.gateway.admin_tokens ?? {}), ['alice', 'vic']);
  });
});

describe('admin audit records', () => {
  test('actor, action and target in the columns every sink has', () => {
    assert.deepEqual(adminEvent({ actor: 'alice', action: 'approvals.deny', target: 'approval X1', via: 'api', reason: 'over budget', approvalId: 'X1' }), {
      kind: 'admin',
      agent: 'alice',
      tool: 'approvals.deny',
      detail: 'approval X1 via api',
      outcome: 'ok',
      reason: 'over budget',
      approval_id: 'X1',
    });
  });
});
