// Name tricks: case, spacing, invisible characters, look-alikes and separators never match an allow rule by accident.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.js';
import { compilePolicy, type ServerPolicy } from '../../src/policy/compile.js';
import { folds, skeleton } from '../../src/policy/names.js';
import { SEPARATORS, toolSpellings } from '../helpers/spellings.js';

function policyOf(server: Record<string, unknown>): ServerPolicy {
  const config = ConfigSchema.parse({ version: 1, servers: { s: { command: ['node', 'x.js'], ...server } } });
  return compilePolicy(config).server('s')!;
}

/**
 * Spellings of `delete_file` that a careless server (case-insensitive lookup, trim, NFKC, confusable folding,
 * `-`/`_` treated alike) could resolve to the real tool, while a byte-exact rule would not match them.
 */
const DELETE_FILE_TRICKS: Record<string, string> = {
  'upper case': 'Delete_File',
  'all caps': 'DELETE_FILE',
  'trailing space': 'delete_file ',
  'leading space': ' delete_file',
  'tab and newline': '\tdelete_file\n',
  'no-break space': 'delete_file\u00A0',
  'ZWSP inside': 'delete\u200B_file',
  'ZWJ inside': 'dele\u200Dte_file',
  'BOM in front': '\uFEFFdelete_file',
  'ZWNJ and word joiner': 'delete_\u200Cfi\u2060le',
  'soft hyphen': 'dele\u00ADte_file',
  'bidi override': '\u202Edelete_file\u202C',
  'bidi isolate': '\u2066delete_file\u2069',
  'LRM/RLM marks': '\u200Edelete_file\u200F',
  'full-width letters': 'ｄｅｌｅｔｅ＿ｆｉｌｅ',
  'full-width upper': 'ＤＥＬＥＴＥ_ＦＩＬＥ',
  'Cyrillic е': 'd\u0435lete_file',
  'Cyrillic capital Е': 'D\u0415LETE_FILE',
  'Cyrillic і': 'delete_f\u0456le',
  'Greek ι and ε': 'd\u03B5lete_f\u03B9le',
  'hyphen for underscore': 'delete-file',
  'dot for underscore': 'delete.file',
  'Unicode hyphen': 'delete\u2010file',
  'en dash': 'delete\u2013file',
  'minus sign': 'delete\u2212file',
  'mathematical bold (NFKC)': '\u{1D41D}\u{1D41E}\u{1D425}\u{1D41E}\u{1D42D}\u{1D41E}_\u{1D41F}\u{1D422}\u{1D425}\u{1D41E}',
  'ligature ﬁ (NFKC)': 'delete_\uFB01le',
  'circled letters (NFKC)': 'delete_ⓕⓘⓛⓔ',
  'tag characters': 'delete_file\u{E0041}\u{E0042}',
  'variation selector': 'delete_file\uFE0F',
  'mongolian vowel separator': 'delete_\u180Efile',
  'combining grapheme joiner': 'delete_\u034Ffile',
};

describe('tricks on a denied name land on the deny rule, never on an allow', () => {
  const p = policyOf({
    default: 'allow',
    tools: { delete_file: { action: 'deny', reason: 'deleting is for humans' }, '*file*': 'allow', echo: 'allow' },
  });

  test('the exact name is denied by its rule', () => {
    assert.deepEqual([p.decide('delete_file').action, p.decide('delete_file').rule], ['deny', 'servers.s.tools.delete_file']);
  });

  for (const [label, name] of Object.entries(DELETE_FILE_TRICKS)) {
    test(`${label}: ${JSON.stringify(name)}`, () => {
      assert.notEqual(name, 'delete_file');
      const d = p.decide(name);
      assert.equal(d.action, 'deny', `${JSON.stringify(name)} must not be allowed (got rule ${d.rule})`);
      assert.equal(d.rule, 'servers.s.tools.delete_file', 'the rule it folds onto is the one reported');
      assert.match(d.reason ?? '', /deleting is for humans/, 'the rule reason is kept');
      assert.match(d.reason ?? '', /must match exactly/, 'the agent is told why the near miss was refused');
    });
  }
});

describe('tricks on an allowed name never borrow the allow rule', () => {
  const p = policyOf({ default: 'deny', tools: { echo: 'allow', 'read_*': 'allow' } });

  for (const name of ['Echo', 'ECHO', 'echo ', ' echo', 'ec\u200Bho', '\uFEFFecho', 'ｅｃｈｏ', '\u0435cho', 'ech\u03BF', 'ech\u043E']) {
    test(`${JSON.stringify(name)} falls to the default deny, not to tools.echo`, () => {
      const d = p.decide(name);
      assert.deepEqual([d.action, d.rule], ['deny', 'servers.s.default']);
    });
  }

  for (const name of ['Read_file', 'READ_FILE', 'read-file', 'read\u200B_file', 'ｒｅａｄ_file', 'r\u0435ad_file', ' read_file']) {
    test(`${JSON.stringify(name)} does not match the allow glob read_*`, () => {
      const d = p.decide(name);
      assert.deepEqual([d.action, d.rule], ['deny', 'servers.s.default']);
    });
  }
});

describe('tricks on hidden names stay hidden', () => {
  const p = policyOf({ default: 'allow', hide: ['secret_tool', 'debug_*'] });

  for (const name of ['Secret_Tool', 'secret-tool', 'secret_tool\u200B', 's\u0435cret_tool', 'ｓｅｃｒｅｔ_ｔｏｏｌ', ' secret_tool']) {
    test(`${JSON.stringify(name)} is hidden like secret_tool`, () => {
      assert.equal(p.decide(name).action, 'hide');
      assert.equal(p.decide(name).rule, 'servers.s.hide[0]');
      assert.equal(p.isVisible(name), false);
    });
  }

  for (const name of ['Debug_dump', 'DEBUG-x', 'debug\u200D_trace', 'ｄｅｂｕｇ_all']) {
    test(`${JSON.stringify(name)} is hidden like the glob debug_*`, () => {
      assert.equal(p.decide(name).action, 'hide');
      assert.equal(p.decide(name).rule, 'servers.s.hide[1]');
    });
  }
});

describe('tricks against deny globs', () => {
  const p = policyOf({ default: 'allow', tools: { 'delete_*': { action: 'deny', reason: 'no deletes' } } });

  for (const name of ['Delete_user', 'DELETE_ALL', 'delete-user', 'd\u0435lete_user', 'ｄｅｌｅｔｅ_user', '\u200Bdelete_user', 'delete\u2013user']) {
    test(`${JSON.stringify(name)} is denied by delete_*`, () => {
      const d = p.decide(name);
      assert.deepEqual([d.action, d.rule], ['deny', 'servers.s.tools.delete_*']);
      assert.match(d.reason ?? '', /no deletes/);
    });
  }
});

describe('ordinary names decide as written', () => {
  const p = policyOf({
    default: 'allow',
    tools: { delete_file: 'deny', 'drop_*': 'deny', echo: 'allow', 'Get-Thing': 'deny' },
    hide: ['secret_tool'],
  });

  test('names unrelated to any strict rule keep the default and carry no look-alike note', () => {
    for (const name of ['read_file', 'list_files', 'deleted', 'file_delete', 'delete_files', 'echo2', 'secret_tools', 'ünïcödé_tool', '工具']) {
      const d = p.decide(name);
      assert.deepEqual([d.action, d.rule, d.reason], ['allow', 'servers.s.default', undefined], name);
    }
  });

  test('separators in a glob are optional too: a careless server reads "dropdown" as drop_down', () => {
    // Changed with issue 13: "drop" used to keep the default. Folded, it is drop_ — a name drop_* denies.
    for (const name of ['dropdown', 'DropTable', 'drop', 'drop.x']) assert.deepEqual([p.decide(name).action, p.decide(name).rule], ['deny', 'servers.s.tools.drop_*'], name);
  });

  test('rules match their exact names', () => {
    assert.equal(p.decide('echo').rule, 'servers.s.tools.echo');
    assert.equal(p.decide('echo').action, 'allow');
    assert.equal(p.decide('drop_table').action, 'deny');
    assert.equal(p.decide('drop_table').reason, undefined, 'an exact glob match carries no look-alike note');
    assert.equal(p.decide('Get-Thing').action, 'deny');
    assert.equal(p.decide('secret_tool').action, 'hide');
  });

  test('a rule written with odd case or separators still catches the plain spelling', () => {
    // The rule says Get-Thing; a server that folds names would run get_thing for it.
    assert.equal(p.decide('get_thing').action, 'deny');
    assert.equal(p.decide('get_thing').rule, 'servers.s.tools.Get-Thing');
  });

  test('the same name asked twice gets the same decision (the cache changes nothing)', () => {
    for (let i = 0; i < 3; i++) {
      assert.equal(p.decide('Delete_File').action, 'deny');
      assert.equal(p.decide('read_file').action, 'allow');
    }
  });

  test('many distinct names do not change decisions when the cache is flushed', () => {
    for (let i = 0; i < 5000; i++) p.decide(`tool_${i}`);
    assert.equal(p.decide('Delete_File').action, 'deny');
    assert.equal(p.decide('delete_file').action, 'deny');
    assert.equal(p.decide('tool_1').action, 'allow');
  });
});

describe('skeleton', () => {
  test('folds case, invisibles, width, look-alikes and separators onto one form', () => {
    for (const name of Object.values(DELETE_FILE_TRICKS)) assert.equal(skeleton(name), skeleton('delete_file'), JSON.stringify(name));
  });

  test('every generated spelling folds onto the name it imitates', () => {
    for (const name of ['ratey', 'pay', 'delete_file', 'read_file', 'get-env', 'list.items', 'a1_b2', 'Get_Thing', 'ZAP_ME']) {
      const spellings = toolSpellings(name);
      assert.ok(spellings.length > 60, `${name}: only ${spellings.length} spellings`);
      for (const s of spellings) assert.ok(folds(s).includes(skeleton(name)), `${JSON.stringify(s)} does not fold onto ${name}: ${JSON.stringify(folds(s))}`);
    }
  });

  test('drops every separator and punctuation mark, as the loosest servers do (changed with issue 13: a_b and ab were apart)', () => {
    for (const sep of SEPARATORS) assert.equal(skeleton(`a${sep}b`), 'ab', JSON.stringify(sep));
    assert.equal(skeleton('a_b'), skeleton('ab'));
  });

  test('keeps names that are really different apart', () => {
    assert.notEqual(skeleton('delete_file'), skeleton('delete_files'));
    assert.notEqual(skeleton('read'), skeleton('reads'));
    assert.notEqual(skeleton('ab'), skeleton('ba'));
    assert.notEqual(skeleton('pay'), skeleton('play'));
    assert.notEqual(skeleton('v0'), skeleton('vo'), 'digits are not letters');
    assert.notEqual(skeleton('工具'), skeleton('工作'));
    assert.deepEqual(folds('工具'), ['工具'], 'a name with no ASCII letter is not folded onto the empty name');
  });

  test('folds: the skeleton, and what an ASCII-only slugifier keeps of a name beyond ASCII', () => {
    assert.deepEqual(folds('Pay_Now'), ['paynow']);
    assert.deepEqual(folds('payé'), ['paye', 'pay']);
    assert.deepEqual(folds('pa\u0434y'), ['paдy', 'pay']);
    assert.deepEqual(folds('pay\u4E2D'), ['pay\u4E2D', 'pay']);
    assert.deepEqual(folds('\u0440\u0430y'), ['pay'], 'look-alikes map to Latin in both');
    assert.deepEqual(folds('\u03F2all'), ['call'], 'lunate sigma is a c, though NFKD makes it a sigma');
  });
});

/** Paths of the limits a decision carries, sorted. */
const limitPaths = (p: ServerPolicy, name: string) => (p.decide(name).limits ?? []).map((l) => l.path).sort();

describe('every spelling of a limited tool is bound by its limits, on the same counters', () => {
  const p = policyOf({
    default: 'allow',
    all_tools: { rate_limit: { max: 1000, window: 60 } },
    tools: {
      ratey: { action: 'allow', rate_limit: { max: 2, window: 60 } },
      pay: { action: 'allow', quota: { max: 100, window: '1h', cost: 'args.amount' } },
      'quick_*': { action: 'allow', rate_limit: { max: 5, window: 60 } },
    },
  });
  const cases: [string, string][] = [
    ['ratey', 'servers.s.tools.ratey.rate_limit'],
    ['pay', 'servers.s.tools.pay.quota'],
    ['quick_run', 'servers.s.tools.quick_*.rate_limit'],
  ];

  for (const [name, limit] of cases) {
    test(`${name}: every generated spelling carries ${limit} (the key of its counter) and the server's limit once`, () => {
      assert.deepEqual(limitPaths(p, name), [limit, 'servers.s.all_tools.rate_limit'].sort());
      for (const s of toolSpellings(name)) {
        const d = p.decide(s);
        assert.equal(d.action, 'allow', JSON.stringify(s));
        assert.deepEqual(limitPaths(p, s), limitPaths(p, name), `${JSON.stringify(s)} escapes ${limit} (rule ${d.rule})`);
      }
    });
  }

  test('the decision names the rule it imitates and says why its limits apply', () => {
    const d = p.decide('RATEY');
    assert.equal(d.rule, 'servers.s.tools.ratey');
    assert.match(d.reason ?? '', /differs from servers\.s\.tools\.ratey only by case/);
  });

  test('unrelated names keep only the server limit', () => {
    for (const name of ['rate', 'rateys', 'play', 'quick', 'list_files']) {
      assert.deepEqual(limitPaths(p, name), name === 'quick' ? ['servers.s.all_tools.rate_limit', 'servers.s.tools.quick_*.rate_limit'] : ['servers.s.all_tools.rate_limit'], name);
    }
  });
});

describe('every spelling of a denied, held or hidden tool is refused or held the same way', () => {
  const p = policyOf({
    default: 'allow',
    tools: {
      delete_file: { action: 'deny', reason: 'deleting is for humans' },
      wire_money: { action: 'require_approval', approval_timeout: '5m', quota: { max: 10, window: '1d', cost: 1 } },
      'drop_*': 'deny',
      '*_secret': 'hide',
    },
    hide: ['debug_dump'],
  });
  const cases: [string, string, string][] = [
    ['delete_file', 'deny', 'servers.s.tools.delete_file'],
    ['wire_money', 'require_approval', 'servers.s.tools.wire_money'],
    ['drop_table', 'deny', 'servers.s.tools.drop_*'],
    ['get_secret', 'hide', 'servers.s.tools.*_secret'],
    ['debug_dump', 'hide', 'servers.s.hide[0]'],
  ];
  for (const [name, action, rule] of cases) {
    test(`${name}: ${action} by ${rule} for every generated spelling`, () => {
      for (const s of toolSpellings(name)) {
        const d = p.decide(s);
        assert.deepEqual([d.action, d.rule], [action, rule], JSON.stringify(s));
        if (action === 'require_approval') {
          assert.equal(d.approval?.timeoutMs, 300_000);
          assert.deepEqual(limitPaths(p, s), ['servers.s.tools.wire_money.quota']);
        }
        if (action === 'hide') assert.equal(p.isVisible(s), false, JSON.stringify(s));
      }
    });
  }
});

describe('no spelling of an allowed tool borrows its allow rule', () => {
  const p = policyOf({ default: 'deny', tools: { echo: 'allow', 'read_*': { action: 'allow', rate_limit: { max: 9, window: 60 } } } });
  for (const name of ['echo', 'read_file']) {
    test(`${name}: every generated spelling falls to the default deny`, () => {
      for (const s of toolSpellings(name)) {
        // A spelling that still starts with "read_" is matched by the glob as written, which allows it.
        const expected = s.startsWith('read_') ? ['allow', 'servers.s.tools.read_*'] : ['deny', 'servers.s.default'];
        assert.deepEqual([p.decide(s).action, p.decide(s).rule], expected, JSON.stringify(s));
      }
    });
  }
});
