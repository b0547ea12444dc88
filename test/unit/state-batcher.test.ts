// The batcher behind the Redis driver: calls of one event-loop turn share a round trip, in order, and errors reach
// every call of the failed batch and no other.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createBatcher } from '../../src/state/batcher.js';

/** A `send` that records its batches and answers when told to. */
function recordingSend() {
  const batches: number[][] = [];
  const waiting: { resolve: (out: string[]) => void; reject: (err: Error) => void; items: number[] }[] = [];
  const send = (items: number[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      batches.push(items);
      waiting.push({ resolve, reject, items });
    });
  const answerNext = () => {
    const w = waiting.shift()!;
    w.resolve(w.items.map((i) => `answer ${i}`));
  };
  return { send, batches, waiting, answerNext };
}

describe('createBatcher', () => {
  it('sends the items of one turn together, in order, and answers each with its own result', async () => {
    const { send, batches, answerNext } = recordingSend();
    const call = createBatcher(send, { maxBatch: 64, maxInFlight: 2 });
    const answers = [1, 2, 3].map((i) => call(i));
    await nextTurn();
    assert.deepEqual(batches, [[1, 2, 3]]);
    answerNext();
    assert.deepEqual(await Promise.all(answers), ['answer 1', 'answer 2', 'answer 3']);
  });

  it('splits at maxBatch and holds further items while maxInFlight batches are out', async () => {
    const { send, batches, answerNext } = recordingSend();
    const call = createBatcher(send, { maxBatch: 2, maxInFlight: 2 });
    const answers = [1, 2, 3, 4, 5, 6, 7].map((i) => call(i));
    await nextTurn();
    assert.deepEqual(batches, [[1, 2], [3, 4]], 'two batches in flight, the rest waits');
    answerNext();
    await nextTurn();
    await nextTurn();
    assert.deepEqual(batches, [[1, 2], [3, 4], [5, 6]]);
    answerNext();
    answerNext();
    await nextTurn();
    await nextTurn();
    assert.deepEqual(batches.at(-1), [7]);
    answerNext();
    assert.deepEqual(await Promise.all(answers), [1, 2, 3, 4, 5, 6, 7].map((i) => `answer ${i}`));
  });

  it('rejects every call of a failed batch with its error, and only those', async () => {
    const { send, waiting } = recordingSend();
    const call = createBatcher(send, { maxBatch: 2, maxInFlight: 2 });
    const results = [1, 2, 3].map((i) => call(i).then((v) => v, (e: Error) => `rejected: ${e.message}`));
    await nextTurn();
    waiting[0]!.reject(new Error('store unreachable'));
    waiting[1]!.resolve(['answer 3']);
    assert.deepEqual(await Promise.all(results), ['rejected: store unreachable', 'rejected: store unreachable', 'answer 3']);
  });

  it('rejects a batch answered with the wrong number of results, and a send that throws', async () => {
    const short = createBatcher(async (items: number[]) => items.slice(1), { maxBatch: 8, maxInFlight: 1 });
    await assert.rejects(Promise.all([short(1), short(2)]), /answered 1 of 2 items/);
    let fail = true;
    const flaky = createBatcher<number, number>((items) => {
      if (fail) throw new Error('cannot send');
      return Promise.resolve(items.map((i) => i * 2));
    }, { maxBatch: 8, maxInFlight: 1 });
    await assert.rejects(flaky(1), /cannot send/);
    // The batcher keeps working after a failure.
    fail = false;
    assert.equal(await flaky(21), 42);
  });
});
