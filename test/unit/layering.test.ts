// Architecture guard: the policy stays pure (no I/O), and transports know nothing of policy.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/gateway.js';

/** Runtime imports only: `import type` leaves nothing in the compiled code, so it cannot bring I/O in. */
function imports(dir: string): { file: string; spec: string }[] {
  const abs = path.join(ROOT, 'src', dir);
  return readdirSync(abs)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((file) =>
      [...readFileSync(path.join(abs, file), 'utf8').matchAll(/^\s*(?:import|export)\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => ({ file: `${dir}/${file}`, spec: m[1]! })),
    );
}

test('src/policy imports nothing that does I/O: only its own files and config schemas', () => {
  const found = imports('policy');
  assert.ok(found.length > 0, 'no imports found: the scan is broken');
  for (const { file, spec } of found) {
    const ok = spec.startsWith('./') || /^\.\.\/config\/[a-z-]*schema\.js$/.test(spec);
    assert.ok(ok, `${file} imports ${spec}; the policy must stay pure (decide() is called on every tool call)`);
  }
});

test('src/transport knows no policy: it frames messages and nothing else', () => {
  for (const { file, spec } of imports('transport')) {
    assert.ok(!/policy|admission|inspect/.test(spec), `${file} imports ${spec}`);
  }
});

test('one call pipeline: only src/proxy/pipeline.ts inspects, holds and admits calls', () => {
  const steps = /\b(inspectClientFrame|gateVerdict|admitVerdict|observeVerdict)\b/;
  const proxy = path.join(ROOT, 'src/proxy');
  const users = readdirSync(proxy)
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => readFileSync(path.join(proxy, f), 'utf8').split('\n').some((line) => steps.test(line) && !/^\s*(\/\/|\*|\/\*\*)/.test(line) && !/^export (async )?function/.test(line)));
  // Each step's own module defines it; the pipeline is the only other module that may call one.
  const allowed = new Set(['admission.ts', 'approval-gate.ts', 'call-observers.ts', 'inspect.ts', 'pipeline.ts']);
  assert.ok(users.includes('pipeline.ts'), 'the pipeline uses the steps: the scan is broken');
  for (const file of users) assert.ok(allowed.has(file), `src/proxy/${file} calls a step of the call pipeline itself; go through createCallPipeline`);
});
