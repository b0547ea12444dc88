// require_approval end to end: a real v1 SDK client calls through `policylayer start`; the call is held (with
// progress) until `policylayer approvals approve|deny` decides it in another process; timeouts deny; an approval
// admits exactly one identical call; a cancel withdraws it; async mode answers at once and admits the retry.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, startGateway, tempDir } from '../helpers/gateway.js';
import { connectV1, http } from '../helpers/clients.js';
import { RECORDER } from '../helpers/raw-mcp.js';
import { eventually, receivedArgs, writePolicy } from '../helpers/limits-rig.js';
import { toolText } from '../helpers/cli-run.js';
import { approvalsCli, listed, pendingFor } from '../helpers/approvals.js';


interface Rig {
  file: string;
  record: string;
  url: string;
}

async function rig(t: TestContext): Promise<Rig> {
  const dir = tempDir('pl-approvals-');
  const record = path.join(dir, 'record.jsonl');
  const file = writePolicy(
    {
      gateway: { state: `sqlite:${path.join(dir, 'state.db')}` },
      servers: {
        s: {
          command: [process.execPath, RECORDER, 'stdio', '--record', record],
          tools: {
            pay: { action: 'require_approval', approval_timeout: '30s', reason: 'payments need a person' },
            flaky: { action: 'require_approval', approval_timeout: '1s' },
            echo: { action: 'require_approval', approval_mode: 'async', approval_timeout: '1m' },
          },
        },
      },
    },
    dir,
  );
  const gw = await startGateway(file);
  t.after(() => gw.stop());
  return { file, record, url: `${gw.url}/mcp/s` };
}

const cli = approvalsCli;

const text = toolText;

describe('require_approval through a running gateway', { concurrency: false }, () => {
  test('a held call is released by `approvals approve` with the server\'s real result, and progress keeps the client waiting', async (t) => {
    const r = await rig(t);
    const c = await connectV1(http(r.url));
    t.after(() => c.close());
    const progress: { progress: number; message?: string | undefined }[] = [];
    const call = c.client.callTool({ name: 'pay', arguments: { amount: 42, to: 'acme' } }, undefined, {
      timeout: 8000,
      resetTimeoutOnProgress: true,
      onprogress: (p) => progress.push(p),
    });
    const pending = await pendingFor(r.file, 'pay');
    assert.deepEqual(pending.args, { amount: 42, to: 'acme' }, 'the approver sees exactly what will run');
    assert.equal(pending.agent, 'anonymous');
    assert.equal(pending.rule, 'servers.s.tools.pay');
    assert.equal(receivedArgs(r.record, 'pay').length, 0, 'nothing reached the server while held');
    // Longer than the progress interval (5 s) and than the client's own 8 s timeout without progress.
    await sleep(9000);
    const approved = await cli('approve', pending.id, '-c', r.file, '--by', 'alice', '--reason', 'invoice 7');
    assert.equal(approved.code, 0, approved.stderr);
    const result = await call;
    assert.equal(result.isError, undefined, text(result));
    assert.match(text(result), /paid 42/i);
    assert.ok(progress.length >= 1, 'progress notifications arrived while the call was held');
    assert.match(progress[0]!.message ?? '', new RegExp(`approval ${pending.id}`));
    assert.deepEqual(receivedArgs(r.record, 'pay'), [{ amount: 42, to: 'acme' }]);
    // Decided exactly once: a second decision is refused and says by whom the first was made.
    const again = await cli('deny', pending.id, '-c', r.file, '--reason', 'too late');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already approved \(by alice via cli/);
  });

  test('a held call that asked for progress gets its first notification at once, before anyone decides', async (t) => {
    const r = await rig(t);
    const c = await connectV1(http(r.url));
    t.after(() => c.close());
    const progress: { progress: number; message?: string | undefined }[] = [];
    const call = c.client.callTool({ name: 'pay', arguments: { amount: 3 } }, undefined, { timeout: 60_000, onprogress: (p) => progress.push(p) });
    const pending = await pendingFor(r.file, 'pay');
    await eventually('the first progress notification', () => progress.length > 0, 20_000);
    // Not yet decided: the first notification is the one sent when the call was held, not one after an interval.
    assert.equal(progress[0]!.progress, 0);
    assert.match(progress[0]!.message ?? '', new RegExp(`approval ${pending.id}`));
    assert.equal((await cli('approve', pending.id, '-c', r.file)).code, 0);
    assert.match(text(await call), /paid 3/);
  });

  test('deny answers [POLICY DENIED] with the approver\'s reason; a timeout denies; nothing reaches the server', async (t) => {
    const r = await rig(t);
    const c = await connectV1(http(r.url));
    t.after(() => c.close());
    const call = c.client.callTool({ name: 'pay', arguments: { amount: 9000 } });
    const pending = await pendingFor(r.file, 'pay');
    const denied = await cli('deny', pending.id, '-c', r.file, '--by', 'bob', '--reason', 'over the monthly budget');
    assert.equal(denied.code, 0, denied.stderr);
    const result = await call;
    assert.equal(result.isError, true);
    assert.match(text(result), /^\[POLICY DENIED\]/);
    assert.match(text(result), /denied by bob via cli: over the monthly budget/);

    const timedOut = await c.client.callTool({ name: 'flaky', arguments: {} });
    assert.equal(timedOut.isError, true);
    assert.match(text(timedOut), /no one approved this call within 1 s/);
    const expired = (await listed(r.file, '--all')).find((x) => x.tool === 'flaky');
    assert.equal(expired?.status, 'expired');
    assert.equal(receivedArgs(r.record, 'pay').length + receivedArgs(r.record, 'flaky').length, 0);
  });

  test('an approval admits one call with exactly those arguments; the next identical call is held again', async (t) => {
    const r = await rig(t);
    const c = await connectV1(http(r.url));
    t.after(() => c.close());
    const first = c.client.callTool({ name: 'pay', arguments: { amount: 1 } });
    const p1 = await pendingFor(r.file, 'pay', { amount: 1 });
    assert.equal((await cli('approve', p1.id, '-c', r.file)).code, 0);
    assert.equal((await first).isError, undefined);
    // Same arguments again: a new approval is needed (single use); other arguments too.
    const second = c.client.callTool({ name: 'pay', arguments: { amount: 1 } });
    const third = c.client.callTool({ name: 'pay', arguments: { amount: 2 } });
    const p2 = await pendingFor(r.file, 'pay', { amount: 1 });
    const p3 = await pendingFor(r.file, 'pay', { amount: 2 });
    assert.notEqual(p2.id, p1.id);
    assert.notEqual(p3.id, p2.id);
    assert.equal(receivedArgs(r.record, 'pay').length, 1);
    await cli('deny', p2.id, '-c', r.file, '--reason', 'once is enough');
    await cli('deny', p3.id, '-c', r.file, '--reason', 'no');
    assert.equal((await second).isError, true);
    assert.equal((await third).isError, true);
    assert.equal(receivedArgs(r.record, 'pay').length, 1);
  });

  test('a cancelled call withdraws its approval, and approving it afterwards forwards nothing', async (t) => {
    const r = await rig(t);
    const c = await connectV1(http(r.url));
    t.after(() => c.close());
    const abort = new AbortController();
    const call = c.client.callTool({ name: 'pay', arguments: { amount: 5 } }, undefined, { signal: abort.signal });
    const pending = await pendingFor(r.file, 'pay');
    abort.abort('the user changed their mind');
    await assert.rejects(call);
    let status = '';
    for (let i = 0; i < 50 && status !== 'withdrawn'; i++) {
      status = (await listed(r.file, '--all')).find((x) => x.id === pending.id)?.status;
      await sleep(100);
    }
    assert.equal(status, 'withdrawn');
    const late = await cli('approve', pending.id, '-c', r.file);
    assert.equal(late.code, 1);
    await sleep(300);
    assert.equal(receivedArgs(r.record, 'pay').length, 0);
  });

  test('one bulk action decides every pending approval of a tool, each exactly once', async (t) => {
    const r = await rig(t);
    const c = await connectV1(http(r.url));
    t.after(() => c.close());
    const calls = [1, 2, 3].map((amount) => c.client.callTool({ name: 'pay', arguments: { amount } }));
    for (const amount of [1, 2, 3]) await pendingFor(r.file, 'pay', { amount });
    const bulk = await cli('approve', '--pending', '--tool', 'pay', '-c', r.file);
    assert.equal(bulk.code, 0, bulk.stderr);
    assert.match(bulk.stdout, /approved 3 pending approval/);
    const results = await Promise.all(calls);
    assert.deepEqual(results.map((x) => x.isError), [undefined, undefined, undefined]);
    assert.equal(receivedArgs(r.record, 'pay').length, 3);
    assert.match((await cli('approve', '--pending', '-c', r.file)).stdout, /approved 0 pending/);
  });

  test('`approvals watch` shows each held call as it comes and decides it from the answer typed', async (t) => {
    const r = await rig(t);
    const c = await connectV1(http(r.url));
    t.after(() => c.close());
    const watcher = spawn(process.execPath, [CLI, 'approvals', 'watch', '-c', r.file, '--by', 'carol'], { stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => watcher.kill('SIGKILL'));
    let out = '';
    watcher.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const prompts = () => out.split('approve? [y/n/s]').length - 1;
    const until = async (what: string, check: () => boolean) => {
      for (let i = 0; i < 100 && !check(); i++) await sleep(100);
      assert.ok(check(), `${what}; watch printed:\n${out}`);
    };

    const first = c.client.callTool({ name: 'pay', arguments: { amount: 77 } });
    await until('the first held call is shown', () => prompts() === 1);
    assert.match(out, /pay on s for anonymous with \{"amount":77\}/);
    watcher.stdin.write('y\n');
    assert.match(text(await first), /paid 77/);

    const second = c.client.callTool({ name: 'pay', arguments: { amount: 78 } });
    await until('the second held call is shown', () => prompts() === 2);
    watcher.stdin.write('n\n');
    await until('the reason is asked for', () => out.includes('reason (the agent is told)'));
    watcher.stdin.write('not this month\n');
    const refused = await second;
    assert.equal(refused.isError, true);
    assert.match(text(refused), /denied by carol via cli: not this month/);
    assert.deepEqual(receivedArgs(r.record, 'pay'), [{ amount: 77 }]);
  });

  test('approvals that cannot be reached fail closed: the call is refused, saying why, and never forwarded', async (t) => {
    const dir = tempDir('pl-approvals-down-');
    const record = path.join(dir, 'record.jsonl');
    const file = writePolicy(
      {
        // auth: off — without it, whether credentials are needed is read from that same (unreachable) store.
        gateway: { state: 'redis://127.0.0.1:1', auth: 'off' },
        servers: { s: { command: [process.execPath, RECORDER, 'stdio', '--record', record], tools: { pay: { action: 'require_approval' } } } },
      },
      dir,
    );
    const gw = await startGateway(file);
    t.after(() => gw.stop());
    const c = await connectV1(http(`${gw.url}/mcp/s`));
    t.after(() => c.close());
    const result = await c.client.callTool({ name: 'pay', arguments: { amount: 1 } });
    assert.equal(result.isError, true);
    assert.match(text(result), /^\[POLICY DENIED\].*approvals cannot be asked for: .*unreachable/);
    assert.equal(receivedArgs(record, 'pay').length, 0);
  });

  test('async mode: the call is answered at once with the approval id; the identical call is admitted once approved', async (t) => {
    const r = await rig(t);
    const c = await connectV1(http(r.url));
    t.after(() => c.close());
    const args = { text: 'rotate the keys' };
    const first = await c.client.callTool({ name: 'echo', arguments: args });
    assert.equal(first.isError, true);
    const id = /approval (\S+) is pending/.exec(text(first))?.[1];
    assert.ok(id, text(first));
    // Asking again before anyone decided points at the same approval.
    const again = await c.client.callTool({ name: 'echo', arguments: args });
    assert.match(text(again), new RegExp(`approval ${id} is pending`));
    assert.equal((await cli('approve', id, '-c', r.file)).code, 0);
    const admitted = await c.client.callTool({ name: 'echo', arguments: args });
    assert.equal(admitted.isError, undefined, text(admitted));
    assert.deepEqual(receivedArgs(r.record, 'echo'), [args]);
    const reused = await c.client.callTool({ name: 'echo', arguments: args });
    assert.equal(reused.isError, true, 'used once');
    assert.notEqual(/approval (\S+) is pending/.exec(text(reused))?.[1], id);
  });
});
