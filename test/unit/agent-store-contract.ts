// The AgentStore contract, one suite for every driver: call runAgentStoreContract() from a driver's test file.
//
// `open(space)` is called with a fresh `space` per test; stores opened with the same space share the backing data
// (same file, same Redis prefix) like gateway replicas and the CLI do; a memory driver returns one instance per space.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { AgentStore, AgentTokenRecord } from '../../src/agents/store.js';
import { newTokenId, tokenSha256 } from '../../src/agents/tokens.js';

export type OpenAgentStore = (space: string) => Promise<AgentStore>;

let seq = 0;
/** A token record (with a fresh random hash) created at `created`. */
export function tokenRecord(over: Partial<AgentTokenRecord> = {}): AgentTokenRecord {
  return { id: newTokenId(), agent: 'support-bot', sha256: tokenSha256(randomBytes(16).toString('hex')), servers: ['fs', 'vapi'], created: 1_700_000_000_000 + ++seq, ...over };
}

export function runAgentStoreContract(name: string, open: OpenAgentStore, cleanup?: () => Promise<void>): void {
  describe(`AgentStore contract: ${name}`, () => {
    const opened: AgentStore[] = [];
    let spaces = 0;
    /** Two handles on one fresh space: a gateway and the CLI, or two replicas. */
    const pair = async (): Promise<[AgentStore, AgentStore]> => {
      const space = `agents${++spaces}-${randomBytes(3).toString('hex')}`;
      const a = await open(space);
      const b = await open(space);
      opened.push(a, b);
      return [a, b];
    };
    after(async () => {
      for (const s of new Set(opened)) await s.close();
      await cleanup?.();
    });

    it('finds a token by its hash, exactly as added, from another handle', async () => {
      const [a, b] = await pair();
      const limited = tokenRecord({ expires: 1_800_000_000_000 });
      const all = tokenRecord({ agent: 'ops', servers: '*' });
      await a.add(limited);
      await a.add(all);
      assert.deepEqual(await b.findByHash(limited.sha256), limited);
      assert.deepEqual(await b.findByHash(all.sha256), all);
      assert.equal(await b.findByHash(tokenSha256('never added')), undefined);
    });

    it('refuses a second token with a taken id or hash, and keeps the first', async () => {
      const [a, b] = await pair();
      const first = tokenRecord();
      await a.add(first);
      await assert.rejects(b.add(tokenRecord({ id: first.id })), /already stored/);
      await assert.rejects(b.add(tokenRecord({ sha256: first.sha256, agent: 'intruder' })), /already stored/);
      assert.deepEqual(await a.list(), [first]);
    });

    it('lists every token oldest first, revoked ones included', async () => {
      const [a, b] = await pair();
      const records = [tokenRecord({ created: 3 }), tokenRecord({ created: 1, agent: 'a' }), tokenRecord({ created: 2, agent: 'b', servers: '*' })];
      for (const r of records) await a.add(r);
      await a.revoke({ id: records[0]!.id }, 50);
      assert.deepEqual(await b.list(), [records[1], records[2], { ...records[0], revoked: 50 }]);
    });

    it('revokes one token by id exactly once; the agent\'s other token stays (rotation)', async () => {
      const [a, b] = await pair();
      const old = tokenRecord();
      const fresh = tokenRecord();
      await a.add(old);
      await a.add(fresh);
      assert.deepEqual(await b.revoke({ id: old.id }, 1000), [{ ...old, revoked: 1000 }]);
      assert.deepEqual(await a.revoke({ id: old.id }, 2000), [], 'a second revocation changes nothing');
      assert.equal((await a.findByHash(old.sha256))?.revoked, 1000);
      assert.deepEqual(await a.findByHash(fresh.sha256), fresh);
      assert.deepEqual(await a.revoke({ id: 'tok_nosuchtoken' }), []);
    });

    it('revokes every token of an agent by name, and only those not yet revoked', async () => {
      const [a, b] = await pair();
      const t1 = tokenRecord({ agent: 'bot' });
      const t2 = tokenRecord({ agent: 'bot' });
      const t3 = tokenRecord({ agent: 'bot' });
      const other = tokenRecord({ agent: 'other' });
      for (const r of [t1, t2, t3, other]) await a.add(r);
      await a.revoke({ id: t2.id }, 10);
      const revoked = await b.revoke({ agent: 'bot' }, 20);
      assert.deepEqual(revoked, [{ ...t1, revoked: 20 }, { ...t3, revoked: 20 }]);
      assert.equal((await a.findByHash(t2.sha256))?.revoked, 10, 'an earlier revocation keeps its time');
      assert.deepEqual(await a.findByHash(other.sha256), other);
      assert.deepEqual(await a.revoke({ agent: 'bot' }, 30), []);
    });

    it('concurrent revocations of one agent revoke each token once in total', async () => {
      const [a, b] = await pair();
      const tokens = Array.from({ length: 5 }, () => tokenRecord({ agent: 'race' }));
      for (const r of tokens) await a.add(r);
      const results = await Promise.all([a.revoke({ agent: 'race' }), b.revoke({ agent: 'race' }), a.revoke({ agent: 'race' })]);
      assert.deepEqual(results.flat().map((r) => r.id).sort(), tokens.map((r) => r.id).sort());
    });
  });
}
