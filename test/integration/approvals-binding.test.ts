// An approval covers the whole call, not only params.arguments: against the lenient spy (which reads its arguments
// from params.args / params.input before params.arguments), a call whose other params fields differ from the
// approved one needs its own approval and never runs on the strength of the first, over a stdio server in async
// mode and a remote url: server with approval_ttl. Per-call _meta (progressToken, trace context) does not count.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { approvalsCli, listed, pendingFor, pendingId } from '../helpers/approvals.js';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { isDenied, openSession, post, writePolicy } from '../helpers/limits-rig.js';
import { RECORDER, ranCalls, resultText, startRecorderHttp, type Message } from '../helpers/raw-mcp.js';

interface Rig {
  file: string;
  record: string;
  mcp: string;
  session: string;
}

async function rig(t: TestContext, upstream: 'stdio' | 'http', pay: Record<string, unknown>): Promise<Rig> {
  const dir = tempDir('pl-approvals-binding-');
  const record = path.join(dir, 'record.jsonl');
  let server: Record<string, unknown>;
  if (upstream === 'stdio') {
    server = { command: [process.execPath, RECORDER, 'stdio', '--record', record, '--lenient'] };
  } else {
    const spy = await startRecorderHttp(record, true);
    t.after(() => spy.stop());
    server = { url: spy.url };
  }
  const file = writePolicy(
    { gateway: { state: `sqlite:${path.join(dir, 'state.db')}` }, servers: { s: { ...server, tools: { pay: { action: 'require_approval', ...pay } } } } },
    dir,
  );
  const gw = await startGateway(file);
  t.after(() => gw.stop());
  const mcp = `${gw.url}/mcp/s`;
  return { file, record, mcp, session: await openSession(mcp) };
}

let seq = 0;
/** tools/call pay with these params besides the name. */
const pay = (r: Rig, params: Record<string, unknown>): Promise<Message> =>
  post(r.mcp, { jsonrpc: '2.0', id: `b${++seq}`, method: 'tools/call', params: { name: 'pay', ...params } }, r.session).then((reply) => {
    assert.ok(reply.message, `no answer (HTTP ${reply.status}): ${reply.body.slice(0, 300)}`);
    return reply.message;
  });

const paid = (r: Rig) => ranCalls(r.record).filter((c) => c.ran === 'pay').map((c) => c.args);

const TRACEPARENT = (n: number) => `00-${String(n).padStart(32, '0')}-${String(n).padStart(16, '0')}-01`;

describe('an approval is bound to the whole call', { concurrency: false }, () => {
  test('async mode, stdio server: other params fields beside the approved arguments need their own approval and never run', async (t) => {
    const r = await rig(t, 'stdio', { approval_mode: 'async', approval_timeout: '5m' });
    const first = await pay(r, { arguments: { amount: 1 } });
    assert.ok(isDenied(first), resultText(first));
    const approved = pendingId(resultText(first));
    const ok = await approvalsCli('approve', approved, '-c', r.file);
    assert.equal(ok.code, 0, ok.stderr);

    // The spy would run each of these with amount 1000: the approved arguments, and the real ones elsewhere.
    const smuggled: Record<string, unknown>[] = [
      { arguments: { amount: 1 }, args: { amount: 1000 } },
      { arguments: { amount: 1 }, input: { amount: 1000 } },
      { args: { amount: 1000 } },
      { arguments: { amount: 1 }, _meta: { 'com.example/amount': 1000 } },
    ];
    const ids: string[] = [];
    for (const params of smuggled) {
      const answer = await pay(r, params);
      assert.ok(isDenied(answer), `${JSON.stringify(params)} was admitted: ${JSON.stringify(answer)}`);
      const id = pendingId(resultText(answer));
      assert.notEqual(id, approved, `${JSON.stringify(params)} matched the approval of {arguments: {amount: 1}}`);
      ids.push(id);
    }
    assert.deepEqual(paid(r), [], 'nothing ran on the strength of the approval');

    // The approver sees what the server would receive besides the arguments.
    const pending = await listed(r.file);
    const shown = (i: number) => pending.find((x) => x.id === ids[i]);
    assert.deepEqual([shown(0)?.args, shown(0)?.otherParams], [{ amount: 1 }, { args: { amount: 1000 } }]);
    assert.deepEqual([shown(2)?.args, shown(2)?.otherParams], [null, { args: { amount: 1000 } }]);
    assert.deepEqual(shown(3)?.otherParams, { _meta: { 'com.example/amount': 1000 } });

    // Per-call _meta is no part of the call: a fresh progressToken and trace context still match the approval.
    const retry = await pay(r, { arguments: { amount: 1 }, _meta: { progressToken: 'p-77', traceparent: TRACEPARENT(7), tracestate: 'k=v', baggage: 'b=1' } });
    assert.ok(!isDenied(retry), resultText(retry));
    assert.match(resultText(retry), /paid 1/);
    assert.deepEqual(paid(r), [{ amount: 1 }], 'only the approved call ran');
  });

  test('approval_ttl, remote url: server: a call that adds params fields is held again, and denied, it never runs', async (t) => {
    const r = await rig(t, 'http', { approval_ttl: '10m', approval_timeout: '30s' });
    const held = pay(r, { arguments: { amount: 1 }, _meta: { progressToken: 1, traceparent: TRACEPARENT(1) } });
    const first = await pendingFor(r.file, 'pay');
    assert.equal((await approvalsCli('approve', first.id, '-c', r.file)).code, 0);
    assert.match(resultText(await held), /paid 1/);

    // Within the ttl: the approved arguments plus an input field the spy reads instead.
    const smuggled = pay(r, { arguments: { amount: 1 }, input: { amount: 1000 } });
    const second = await pendingFor(r.file, 'pay', (x) => x.id !== first.id);
    assert.deepEqual(second.otherParams, { input: { amount: 1000 } }, 'the approver sees the other field');
    assert.deepEqual(paid(r), [{ amount: 1 }], 'held, not run');
    assert.equal((await approvalsCli('deny', second.id, '-c', r.file, '--reason', 'not what was approved')).code, 0);
    const refused = await smuggled;
    assert.ok(isDenied(refused), resultText(refused));

    // The identical call (only its per-call _meta differs) is still admitted by the ttl.
    const again = await pay(r, { arguments: { amount: 1 }, _meta: { progressToken: 2, traceparent: TRACEPARENT(2) } });
    assert.match(resultText(again), /paid 1/);
    assert.deepEqual(paid(r), [{ amount: 1 }, { amount: 1 }]);
  });
});
