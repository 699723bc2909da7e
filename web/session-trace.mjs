// A playground session as an allocation trace: the steps are applied again
// to a fresh Session whose heap records every allocation call that
// succeeds (trace.mjs recordingHeap), and the calls become lmtrace v1
// operations (traceFromCalls). Refused mistakes (a double free, a write
// after free) made no call that returned, so they are not in the trace;
// writes and pointer assignments are not allocation calls either.
//
// No DOM: app.mjs and the tests call it with createHeap and the compiled
// module, as for Session.

import { Session } from './session.mjs';
import { recordingHeap, traceFromCalls } from './trace.mjs';

/**
 * @param ops     the session's step ops (steps[0 .. cursor).map(s => s.op))
 * @param options { createHeap, module, name }
 * @returns a trace (trace.mjs), with the calls log as `calls`
 */
export async function sessionTrace(ops, { createHeap, module, name = 'playground-session' }) {
  const calls = [];
  const session = await Session.create({
    createHeap: async (options) => recordingHeap(await createHeap(options), calls),
    module,
  });
  for (const op of ops) session.apply(op);
  const comments = [`lmalloc playground session: ${ops.length} steps, ${calls.length} allocation calls`];
  const nested = (op) => /^(heap|arena)/.test(op.op) || op.heap !== undefined || (op.ops ?? []).some(nested);
  if (ops.some(nested)) {
    // lmtrace records one heap's calls: the steps on created heaps and
    // arenas (and the pages they took) are not replayed.
    comments.push('the steps on created heaps and arenas are not in this trace (only the default heap\'s calls)');
  }
  const trace = traceFromCalls(calls, { name, comments });
  trace.calls = calls;
  return trace;
}
