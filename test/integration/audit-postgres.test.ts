// The Postgres AuditSink on a real Postgres: the contract, replicas creating the schema at once, whole-or-nothing
// batches, text Postgres cannot hold, and errors that name the server without its password.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { AUDIT_SCHEMA_TABLE, createPostgresSink } from '../../src/audit/postgres-sink.js';
import type { AuditEvent } from '../../src/audit/sink.js';
import { runAuditSinkContract } from '../unit/audit-contract.js';

const HOST = '127.0.0.1';
const PORT = 5432;
const URL_ = `postgres://postgres@${HOST}:${PORT}/test`;
/** Every table of this run starts with it, so parallel runs do not meet and cleanup finds them all. */
const RUN = `audit_test_${process.pid}_${randomBytes(3).toString('hex')}`;

/** undefined when Postgres answers, else why not. */
async function problem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: URL_, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    const e = err as Error & { code?: string; errors?: Error[] };
    return e.message || e.errors?.map((x) => x.message).join('; ') || e.code || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

const unreachable = await problem();

if (unreachable !== undefined) {
  const why = `Postgres not reachable at ${HOST}:${PORT}: ${unreachable}`;
  if (process.env.CI === 'true') {
    test(`Postgres is reachable at ${HOST}:${PORT} (required in CI)`, () => assert.fail(why));
  } else {
    test('Postgres AuditSink', (t) => t.skip(`${why} (start PostgreSQL with a "test" database to run these tests)`));
  }
} else {
  const admin = new pg.Client({ connectionString: URL_ });
  admin.on('error', () => {});
  await admin.connect();
  const tables = new Set<string>();
  /** A table name of this run (dropped afterwards). */
  const table = (what: string): string => {
    const name = `${RUN}_${what}`;
    tables.add(name);
    return name;
  };
  after(async () => {
    for (const name of tables) {
      await admin.query(`DROP TABLE IF EXISTS "${name}"`);
      await admin.query(`DELETE FROM ${AUDIT_SCHEMA_TABLE} WHERE table_name = $1`, [name]).catch(() => {});
    }
    await admin.end();
  });

  const contractTable = table('contract');
  runAuditSinkContract('postgres', () => createPostgresSink(URL_, { table: contractTable }));

  const event = (i: number, fields: Partial<AuditEvent> = {}): AuditEvent => ({
    id: `e${i}`,
    time: 1_700_000_000_000 + i,
    kind: 'call',
    instance: 'host:1:abc',
    seq: i + 1,
    ...fields,
  });
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => event(from + k));
  const ALL = { limit: 1_000_000 };

  describe('postgres audit sink', () => {
    test('six replicas starting at once on a new table all succeed and share it', async (t) => {
      const name = table('race');
      const sinks = await Promise.all(Array.from({ length: 6 }, () => createPostgresSink(URL_, { table: name })));
      t.after(() => Promise.all(sinks.map((s) => s.close())));
      await Promise.all(sinks.map((s, i) => s.write([event(i, { instance: `replica-${i}` })])));
      for (const s of sinks) assert.equal((await s.query(ALL)).length, 6);
      const { rows } = await admin.query(`SELECT version FROM ${AUDIT_SCHEMA_TABLE} WHERE table_name = $1`, [name]);
      assert.deepEqual(rows, [{ version: 1 }]);
    });

    test('the table: bigint times, jsonb arguments, the indexes the queries use', async () => {
      await (await createPostgresSink(URL_, { table: contractTable })).close();
      const { rows: columns } = await admin.query<{ column_name: string; data_type: string; collation_name: string | null }>(
        'SELECT column_name, data_type, collation_name FROM information_schema.columns WHERE table_name = $1',
        [contractTable],
      );
      const type = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]));
      assert.equal(columns.length, 23);
      assert.equal(type.time, 'bigint');
      assert.equal(type.seq, 'bigint');
      assert.equal(type.args, 'jsonb');
      // Instances sort bytewise (as in SQLite and JSONL) whatever the database's collation.
      assert.equal(columns.find((c) => c.column_name === 'instance')?.collation_name, 'C');
      const { rows: indexes } = await admin.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE tablename = $1', [contractTable]);
      const on = indexes.map((i) => /\((.*)\)$/.exec(i.indexdef)?.[1]);
      for (const want of ['id', '"time", instance, seq', 'server, tool, "time"', 'agent, "time"', 'decision, "time"', 'call_id']) {
        assert.ok(on.includes(want), `an index on (${want}); found ${on.join(' | ')}`);
      }
    });

    test('a write of more than 500 events is stored whole or not at all', async (t) => {
      const name = table('atomic');
      const sink = await createPostgresSink(URL_, { table: name });
      t.after(() => sink.close());
      const events = range(0, 1200);
      const broken = events.map((e, i) => (i === 1100 ? { ...e, time: 1.5 } : e));
      await assert.rejects(sink.write(broken), new RegExp(`postgres audit log ${URL_} \\(table ${name}\\): write of 1200 events failed: .*bigint`));
      assert.deepEqual(await sink.query(ALL), [], 'the first two chunks were rolled back');
      await sink.write(events);
      assert.deepEqual(await sink.query(ALL), events);
      await sink.write(events.slice(400, 700));
      assert.equal((await sink.query(ALL)).length, 1200, 'a batch written again (a retry) is stored once');
    });

    test('fractional time bounds mean what they say (time is a bigint)', async (t) => {
      const sink = await createPostgresSink(URL_, { table: table('bounds') });
      t.after(() => sink.close());
      await sink.write(range(0, 4));
      const t1 = event(1).time;
      assert.deepEqual(await sink.query({ since: t1 - 0.5, until: t1 + 1.5 }), range(1, 3));
      assert.equal(await sink.prune(t1 + 0.5), 2);
    });

    test('text Postgres cannot hold (U+0000, unpaired surrogates) is stored as U+FFFD instead of failing the batch', async (t) => {
      const sink = await createPostgresSink(URL_, { table: table('nul') });
      t.after(() => sink.close());
      const plain = event(0, { reason: 'fine', args: { path: 'C:\\u0000 is text, not a NUL' } });
      const odd = event(1, { reason: 'a\u0000b', args: { 'k\u0000': ['x\u0000y', 'lone \ud800 high', 'lone \udc00 low', 'pair 😀', '\\\u0000'] } });
      await sink.write([plain, odd]);
      const [gotPlain, gotOdd] = await sink.query(ALL);
      assert.deepEqual(gotPlain, plain, 'an escaped backslash before u0000 is ordinary text');
      assert.deepEqual(gotOdd, {
        ...odd,
        reason: 'a\ufffdb',
        args: { 'k\ufffd': ['x\ufffdy', 'lone \ufffd high', 'lone \ufffd low', 'pair 😀', '\\\ufffd'] },
      });
    });

    test('a table of a newer policylayer (schema version 2) is refused', async () => {
      const name = table('newer');
      await (await createPostgresSink(URL_, { table: name })).close();
      await admin.query(`UPDATE ${AUDIT_SCHEMA_TABLE} SET version = 2 WHERE table_name = $1`, [name]);
      await assert.rejects(createPostgresSink(URL_, { table: name }), /creating the schema failed: the table has audit schema version 2, newer than this policylayer knows \(1\)/);
    });

    test('an unreachable server or a bad URL: the error names the host, never the password', async () => {
      const secret = 's3cret-pw';
      const refused = await createPostgresSink(`postgres://postgres:${secret}@127.0.0.1:1/test`).then(
        () => assert.fail('connected to port 1'),
        (err: Error) => err,
      );
      assert.match(refused.message, /^postgres audit log postgres:\/\/postgres@127\.0\.0\.1:1\/test \(table policylayer_audit_events\): creating the schema failed: .*ECONNREFUSED/);
      for (const url of [`postgres://postgres:${secret}@[::1/test`, `mysql://root:${secret}@db.internal:3306/x`]) {
        const err = await createPostgresSink(url).then(() => assert.fail(url), (e: Error) => e);
        assert.match(err.message, /opening failed/);
        assert.ok(!err.message.includes(secret), err.message);
      }
      assert.ok(!refused.message.includes(secret));
      await assert.rejects(createPostgresSink(URL_, { table: 'Audit-Events' }), /table Audit-Events\): opening failed: the table name must be/);
    });
  });
}
