// Coalesces requests made in the same turn of the event loop into one batch, so that a store round trip serves
// every call that arrived meanwhile. Order is kept: items are sent, and answered, in the order they were added.

export interface BatcherOptions {
  /** At most this many items per batch; the rest go in the next one. */
  maxBatch: number;
  /** Batches in flight at once; further items wait for one to finish (and then travel together). */
  maxInFlight: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

/**
 * `send` gets the items of one batch and must return one answer per item, in order; when it rejects, every item
 * of that batch rejects with the same error.
 */
export function createBatcher<I, O>(send: (items: I[]) => Promise<O[]>, opts: BatcherOptions): (item: I) => Promise<O> {
  let queue: Waiting<I, O>[] = [];
  let scheduled = false;
  let inFlight = 0;

  const schedule = (): void => {
    if (scheduled || queue.length === 0 || inFlight >= opts.maxInFlight) return;
    scheduled = true;
    // setImmediate runs after the I/O callbacks of this turn: every request read in it joins the batch.
    setImmediate(flush);
  };

  const flush = (): void => {
    scheduled = false;
    while (queue.length > 0 && inFlight < opts.maxInFlight) {
      const batch = queue.length <= opts.maxBatch ? queue : queue.slice(0, opts.maxBatch);
      queue = batch === queue ? [] : queue.slice(opts.maxBatch);
      inFlight++;
      let sent: Promise<O[]>;
      try {
        sent = send(batch.map((w) => w.item));
      } catch (err) {
        sent = Promise.reject(err);
      }
      sent
        .then(
          (outs) => {
            if (outs.length !== batch.length) throw new Error(`batch answered ${outs.length} of ${batch.length} items`);
            batch.forEach((w, i) => w.resolve(outs[i]!));
          },
          (err: unknown) => {
            for (const w of batch) w.reject(err);
          },
        )
        .catch((err: unknown) => {
          for (const w of batch) w.reject(err);
        })
        .finally(() => {
          inFlight--;
          schedule();
        });
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      schedule();
    });
}
