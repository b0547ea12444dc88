// Rules from the risk catalogue: `default: by_risk` decides unnamed tools by their risk class (unknown counts as
// Critical), `on_tool_change: block` hides and refuses a changed tool until accepted; the file's own rules still win.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Category, Risk } from '../../src/catalog/classify.js';
import type { CatalogLookup, ViewEntry } from '../../src/catalog/view.js';
import { parseConfig } from '../../src/config/load.js';
import { compilePolicy, type ServerPolicy } from '../../src/policy/compile.js';

const entry = (category: Category, risk: Risk, evidence: string[] = [], status: ViewEntry['status'] = 'accepted'): ViewEntry => ({
  category,
  risk,
  status,
  evidence,
  hash: `${category}-${risk}-${status}`,
});

/**
 * A catalogue as the gateway's view behaves: `lookup` answers from memory, `recheck` reads the "store" and updates
 * memory. `store` starts as a copy of `memory`; a test edits it to play `catalog accept` by another process.
 */
function fakeCatalog(entries: Record<string, ViewEntry>, server = 'gh') {
  const memory = new Map(Object.entries(entries));
  const store = new Map(memory);
  let rechecks = 0;
  const lookup: CatalogLookup = {
    lookup: (s, tool) => (s === server ? memory.get(tool) : undefined),
    recheck(s, tool) {
      rechecks++;
      if (s !== server) return undefined;
      const e = store.get(tool);
      if (e) memory.set(tool, e);
      else memory.delete(tool);
      return e;
    },
    changed: (s) => (s === server ? [...memory].filter(([, e]) => e.status === 'changed').map(([name]) => name) : []),
    loaded: () => true,
  };
  return { lookup, memory, store, rechecks: () => rechecks };
}

/** Server "gh" with the given YAML lines under it (indented by the caller as under the server key). */
function policyOf(serverYaml: string, catalog?: CatalogLookup): ServerPolicy {
  const config = parseConfig(`version: 1\nservers:\n  gh:\n    command: [node, gh.js]\n${serverYaml}`, 'policy.yaml', {});
  return compilePolicy(config, catalog).server('gh')!;
}

const CATALOG = {
  search_issues: entry('Read', 'Low', ['name verb "search"']),
  create_issue: entry('Write', 'Medium', ['name verb "create"']),
  run_workflow: entry('Execute', 'High', ['name verb "run"', 'parameter "command"']),
  delete_repo: entry('Destructive', 'Critical', ['name verb "delete"', 'description: "delete a repository"']),
  pay_invoice: entry('Financial', 'Critical'),
};

describe('default: by_risk', () => {
  test('the default mapping: Low and Medium allowed, High and Critical held for approval with the reason why', () => {
    const p = policyOf('    default: by_risk\n', fakeCatalog(CATALOG).lookup);
    for (const tool of ['search_issues', 'create_issue']) {
      const d = p.decide(tool);
      assert.equal(d.action, 'allow', tool);
      assert.equal(d.rule, `servers.gh.by_risk.${CATALOG[tool as keyof typeof CATALOG].risk}`);
    }
    const run = p.decide('run_workflow');
    assert.deepEqual([run.action, run.rule], ['require_approval', 'servers.gh.by_risk.High']);
    assert.equal(run.reason, 'run_workflow is Execute, risk High (name verb "run")');
    assert.ok(run.approval, 'a held call carries its approval settings');
    const del = p.decide('delete_repo');
    assert.deepEqual([del.action, del.rule], ['require_approval', 'servers.gh.by_risk.Critical']);
    assert.equal(del.reason, 'delete_repo is Destructive, risk Critical (name verb "delete")');
    assert.equal(p.decide('pay_invoice').reason, 'pay_invoice is Financial, risk Critical', 'no evidence, no parentheses');
    for (const tool of Object.keys(CATALOG)) assert.equal(p.isVisible(tool), true, tool);
  });

  test('a custom mapping: its actions, reasons and limits apply', () => {
    const p = policyOf(
      [
        '    default: by_risk',
        '    by_risk:',
        '      Critical: { action: deny, reason: destructive tools are for humans }',
        '      Medium: { action: allow, rate_limit: { max: 5, window: 1m } }',
        '      Low: require_approval',
        '',
      ].join('\n'),
      fakeCatalog(CATALOG).lookup,
    );
    const del = p.decide('delete_repo');
    assert.deepEqual([del.action, del.rule], ['deny', 'servers.gh.by_risk.Critical']);
    assert.equal(del.reason, 'destructive tools are for humans (delete_repo is Destructive, risk Critical (name verb "delete"))');
    const create = p.decide('create_issue');
    assert.deepEqual([create.action, create.rule], ['allow', 'servers.gh.by_risk.Medium']);
    assert.deepEqual(
      create.limits?.map((l) => [l.path, l.max, l.windowMs, l.scope]),
      [['servers.gh.by_risk.Medium.rate_limit', 5, 60_000, 'session']],
    );
    assert.equal(p.decide('search_issues').action, 'require_approval');
    assert.deepEqual([p.decide('run_workflow').action, p.decide('run_workflow').rule], ['require_approval', 'servers.gh.by_risk.High'], 'unset classes keep their default');
  });

  test('a tool the catalogue does not know counts as Critical', () => {
    const fake = fakeCatalog(CATALOG);
    const p = policyOf('    default: by_risk\n', fake.lookup);
    const d = p.decide('brand_new_tool');
    assert.deepEqual([d.action, d.rule], ['require_approval', 'servers.gh.by_risk.Critical']);
    assert.match(d.reason ?? '', /not in the risk catalogue.*counts as Critical/);
    assert.ok(fake.rechecks() > 0, 'the store is asked: the tool may have been listed by another process');

    const denying = policyOf('    default: by_risk\n    by_risk: { Critical: { action: deny, reason: ask an admin } }\n', fake.lookup);
    assert.deepEqual([denying.decide('brand_new_tool').action, denying.decide('brand_new_tool').reason], ['deny', 'ask an admin']);
    // No catalogue at all: nothing is known, everything is Critical.
    assert.equal(policyOf('    default: by_risk\n').decide('search_issues').rule, 'servers.gh.by_risk.Critical');
  });

  test('an unknown tool listed a moment ago is found by recheck and decided by its class', () => {
    const fake = fakeCatalog({});
    const p = policyOf('    default: by_risk\n', fake.lookup);
    assert.equal(p.decide('search_issues').rule, 'servers.gh.by_risk.Critical');
    fake.store.set('search_issues', CATALOG.search_issues);
    assert.deepEqual([p.decide('search_issues').action, p.decide('search_issues').rule], ['allow', 'servers.gh.by_risk.Low']);
  });

  test('an explicit rule beats by_risk, and a hide rule still hides', () => {
    const p = policyOf(
      [
        '    default: by_risk',
        '    tools:',
        '      delete_repo: allow',
        '      search_issues: { action: deny, reason: no searching }',
        "      'run_*': deny",
        '    hide: [pay_invoice]',
        '',
      ].join('\n'),
      fakeCatalog(CATALOG).lookup,
    );
    assert.deepEqual([p.decide('delete_repo').action, p.decide('delete_repo').rule], ['allow', 'servers.gh.tools.delete_repo']);
    assert.deepEqual([p.decide('search_issues').action, p.decide('search_issues').reason], ['deny', 'no searching']);
    assert.deepEqual([p.decide('run_workflow').action, p.decide('run_workflow').rule], ['deny', 'servers.gh.tools.run_*']);
    assert.deepEqual([p.decide('pay_invoice').action, p.decide('pay_invoice').rule], ['hide', 'servers.gh.hide[0]']);
    assert.equal(p.isVisible('pay_invoice'), false);
    assert.equal(p.isVisible('delete_repo'), true);
    assert.equal(p.decide('create_issue').rule, 'servers.gh.by_risk.Medium', 'unnamed tools still go by risk');
  });

  test('without by_risk the catalogue is not consulted for decisions', () => {
    const fake = fakeCatalog(CATALOG);
    const p = policyOf('    default: deny\n', fake.lookup);
    assert.deepEqual([p.decide('search_issues').action, p.decide('search_issues').rule], ['deny', 'servers.gh.default']);
    assert.equal(fake.rechecks(), 0);
  });
});

describe('on_tool_change', () => {
  const changed = { ...CATALOG, search_issues: entry('Read', 'Low', ['name verb "search"'], 'changed') };

  test('block: a changed tool is refused, naming the command that accepts it, and hidden from tools/list', () => {
    const p = policyOf('    on_tool_change: block\n', fakeCatalog(changed).lookup);
    const d = p.decide('search_issues');
    assert.equal(d.action, 'deny');
    assert.equal(d.rule, 'servers.gh.on_tool_change');
    assert.ok(d.reason?.includes('`policylayer catalog accept gh search_issues`'), d.reason);
    assert.match(d.reason!, /definition of tool "search_issues" changed/);
    assert.equal(p.isVisible('search_issues'), false);
    // Accepted tools are untouched: decided by the file (default allow).
    assert.deepEqual([p.decide('delete_repo').action, p.decide('delete_repo').rule], ['allow', 'servers.gh.default']);
    assert.equal(p.isVisible('delete_repo'), true);
  });

  test('block beats an explicit allow rule and by_risk', () => {
    const p = policyOf('    default: by_risk\n    on_tool_change: block\n    tools: { search_issues: allow }\n', fakeCatalog(changed).lookup);
    assert.deepEqual([p.decide('search_issues').action, p.decide('search_issues').rule], ['deny', 'servers.gh.on_tool_change']);
    assert.equal(p.isVisible('search_issues'), false);
  });

  test('block: an accept by another process, read by recheck, releases the tool at once', () => {
    const fake = fakeCatalog(changed);
    const p = policyOf('    on_tool_change: block\n', fake.lookup);
    assert.equal(p.decide('search_issues').action, 'deny');
    fake.store.set('search_issues', entry('Read', 'Low', [], 'accepted'));
    assert.deepEqual([p.decide('search_issues').action, p.decide('search_issues').rule], ['allow', 'servers.gh.default']);
    assert.equal(p.isVisible('search_issues'), true);
  });

  test('block: a changed tool is rechecked on every call (the accept may come at any moment)', () => {
    const fake = fakeCatalog(changed);
    const p = policyOf('    on_tool_change: block\n', fake.lookup);
    p.decide('search_issues');
    p.decide('search_issues');
    assert.equal(fake.rechecks(), 2);
    p.decide('delete_repo');
    assert.equal(fake.rechecks(), 2, 'an accepted tool is decided without reading the store');
  });

  test('record (the default): a changed tool is still allowed and listed', () => {
    for (const yaml of ['', '    on_tool_change: record\n']) {
      const p = policyOf(yaml, fakeCatalog(changed).lookup);
      assert.deepEqual([p.decide('search_issues').action, p.decide('search_issues').rule], ['allow', 'servers.gh.default']);
      assert.equal(p.isVisible('search_issues'), true);
    }
    const byRisk = policyOf('    default: by_risk\n', fakeCatalog(changed).lookup);
    assert.deepEqual([byRisk.decide('search_issues').action, byRisk.decide('search_issues').rule], ['allow', 'servers.gh.by_risk.Low']);
    assert.equal(byRisk.isVisible('search_issues'), true);
  });
});

describe('look-alike names of a changed or critical tool', () => {
  const LOOKALIKES = ['Delete_Repo', 'DELETE_REPO', 'delete\u200B_repo', '\uFEFFdelete_repo', 'delete-repo', 'd\u0435lete_repo'];

  test('by_risk: a look-alike of a Critical tool is not allowed', () => {
    const p = policyOf('    default: by_risk\n', fakeCatalog(CATALOG).lookup);
    for (const name of LOOKALIKES) assert.notEqual(p.decide(name).action, 'allow', JSON.stringify(name));
  });

  test('by_risk: a look-alike of a tool denied by name lands on the deny rule', () => {
    const p = policyOf('    default: by_risk\n    tools: { delete_repo: { action: deny, reason: never } }\n', fakeCatalog(CATALOG).lookup);
    for (const name of LOOKALIKES) {
      const d = p.decide(name);
      assert.deepEqual([d.action, d.rule], ['deny', 'servers.gh.tools.delete_repo'], JSON.stringify(name));
    }
  });

  test('by_risk: a spelling of a limited tool gets its limits, and the catalogue still decides what the spelling is', () => {
    const yaml = '    default: by_risk\n    tools:\n      ratey: { action: allow, rate_limit: { max: 2, window: 60 } }\n';
    const p = policyOf(yaml, fakeCatalog({ ...CATALOG, Ratey: entry('Read', 'Low') }).lookup);
    const paths = (tool: string) => (p.decide(tool).limits ?? []).map((l) => l.path);
    // Not in the catalogue: counts as Critical (held for a person), and once approved it still counts against ratey.
    assert.deepEqual([p.decide('RATEY').action, p.decide('RATEY').rule], ['require_approval', 'servers.gh.by_risk.Critical']);
    assert.deepEqual(paths('RATEY'), ['servers.gh.tools.ratey.rate_limit']);
    // Listed and Low: allowed, on ratey's counter, with the catalogue's label kept.
    assert.deepEqual([p.decide('Ratey').action, p.decide('Ratey').rule], ['allow', 'servers.gh.tools.ratey']);
    assert.deepEqual(paths('Ratey'), ['servers.gh.tools.ratey.rate_limit']);
    assert.equal(p.decide('Ratey').classified?.risk, 'Low');
    assert.deepEqual(paths('ratey'), ['servers.gh.tools.ratey.rate_limit']);
  });

  test('block: a look-alike of a changed tool is not allowed', () => {
    const blocked = { ...CATALOG, delete_repo: entry('Destructive', 'Critical', [], 'changed') };
    for (const yaml of ['    on_tool_change: block\n', '    default: by_risk\n    on_tool_change: block\n']) {
      const p = policyOf(yaml, fakeCatalog(blocked).lookup);
      assert.equal(p.decide('delete_repo').action, 'deny');
      for (const name of LOOKALIKES) assert.notEqual(p.decide(name).action, 'allow', `${JSON.stringify(name)} with ${yaml.trim()}`);
    }
  });
});

describe('the catalogue label on calls held for approval', () => {
  test('an explicit require_approval rule carries the tool\'s category, risk class and evidence; other decisions do not', () => {
    const p = policyOf('    tools:\n      delete_repo: require_approval\n      search_issues: allow\n', fakeCatalog(CATALOG).lookup);
    const held = p.decide('delete_repo');
    assert.equal(held.action, 'require_approval');
    assert.equal(held.rule, 'servers.gh.tools.delete_repo');
    assert.deepEqual(held.classified, { category: 'Destructive', risk: 'Critical', evidence: ['name verb "delete"', 'description: "delete a repository"'] });
    assert.equal(p.decide('search_issues').classified, undefined);
  });

  test('by_risk decisions carry the label too; a tool the catalogue does not know has none', () => {
    const p = policyOf('    default: by_risk\n    tools:\n      unknown_tool: require_approval\n', fakeCatalog(CATALOG).lookup);
    assert.deepEqual(p.decide('run_workflow').classified, { category: 'Execute', risk: 'High', evidence: ['name verb "run"', 'parameter "command"'] });
    assert.equal(p.decide('unknown_tool').action, 'require_approval');
    assert.equal(p.decide('unknown_tool').classified, undefined);
  });
});

describe('a catalogue that could not be read yet', () => {
  const unread: CatalogLookup = { lookup: () => undefined, recheck: () => undefined, changed: () => [], loaded: () => false };

  test('on_tool_change: block refuses every call it cannot check, saying why', () => {
    const p = policyOf('    on_tool_change: block\n    tools:\n      search_issues: allow\n', unread);
    for (const tool of ['search_issues', 'anything']) {
      const d = p.decide(tool);
      assert.deepEqual([d.action, d.rule], ['deny', 'servers.gh.on_tool_change'], tool);
      assert.match(d.reason ?? '', /risk catalogue could not be read/);
    }
  });

  test('without block, rules still apply and by_risk treats every unnamed tool as Critical', () => {
    const p = policyOf('    default: by_risk\n    tools:\n      search_issues: allow\n', unread);
    assert.equal(p.decide('search_issues').action, 'allow');
    assert.deepEqual([p.decide('anything').action, p.decide('anything').rule], ['require_approval', 'servers.gh.by_risk.Critical']);
  });
});
