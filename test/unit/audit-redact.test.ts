// Argument redaction for the audit log: secrets never reach it, whatever their key spelling, depth or shape.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { canonicalJson } from '../../src/audit/canonical.js';
import { createRedactor, DEFAULT_SECRET_KEYS, MAX_DEPTH, MAX_STRING_CHARS, REDACTED, TOO_DEEP } from '../../src/audit/redact.js';

const redact = createRedactor();
const redacted = (args: unknown): unknown => redact(args).args;

/** Spellings a tool author might use for each default pattern; every one must be caught. */
const SPELLINGS: Record<string, string[]> = {
  password: ['password', 'PASSWORD', 'DB_PASSWORD', 'userPassword', 'password-confirm', 'new password'],
  passwd: ['passwd', 'PASSWD', 'root_passwd'],
  secret: ['secret', 'Secret', 'webhookSecret', 'SECRET_VALUE'],
  token: ['token', 'githubToken', 'refresh_token', 'X-Auth-Token', 'ACCESS.TOKEN'],
  authorization: ['authorization', 'Authorization', 'proxy-authorization'],
  api_key: ['api_key', 'X-Api-Key', 'apiKey', 'OPENAI_API_KEY', 'api.key'],
  apikey: ['apikey', 'APIKEY', 'stripeApikey'],
  access_key: ['access_key', 'accessKey', 'AWS_ACCESS_KEY_ID'],
  private_key: ['private_key', 'privateKey', 'SSH-PRIVATE-KEY'],
  client_secret: ['client_secret', 'clientSecret', 'OAUTH_CLIENT_SECRET'],
  cookie: ['cookie', 'Cookie', 'set-cookie', 'sessionCookies'],
  session_id: ['session_id', 'sessionId', 'PHP-SESSION-ID', 'session id'],
  credential: ['credential', 'credentials', 'Credentials', 'gcp_credentials_json'],
  card_number: ['card_number', 'cardNumber', 'CARD-NUMBER', 'credit_card_number'],
  cvv: ['cvv', 'CVV', 'card_cvv'],
  ssn: ['ssn', 'SSN', 'customer_ssn', 'ssnLast4'],
};

describe('default key patterns, in several spellings', () => {
  test('every default pattern has spellings below (the list and the tests stay in step)', () => {
    assert.deepEqual(Object.keys(SPELLINGS).sort(), [...DEFAULT_SECRET_KEYS].sort());
  });
  for (const [pattern, keys] of Object.entries(SPELLINGS)) {
    test(`${pattern}: ${keys.join(', ')}`, () => {
      for (const key of keys) {
        const out = redacted({ [key]: 'hunter2-value', keep: 'visible' });
        assert.deepEqual(out, { [key]: REDACTED, keep: 'visible' }, `key ${JSON.stringify(key)}`);
      }
    });
  }

  test('the value is replaced whatever its type', () => {
    const values: unknown[] = [{ a: 1 }, [1, 2], 42, true, null, 'x'];
    for (const value of values) assert.deepEqual(redacted({ password: value }), { password: REDACTED }, JSON.stringify(value));
  });

  test('ordinary keys and values pass through untouched', () => {
    const args = { path: '/tmp/report.txt', limit: 10, recursive: false, tags: ['a', 'b'], filter: { name: 'x', size: null } };
    assert.deepEqual(redacted(args), args);
    assert.deepEqual(Object.keys(redacted({ z: 1, a: 2, m: 3 }) as object), ['z', 'a', 'm'], 'the copy keeps the key order of the call');
  });
});

describe('nesting', () => {
  test('secrets inside arrays inside objects inside arrays are caught', () => {
    const args = {
      requests: [
        { url: 'https://a', headers: { Authorization: 'x', Accept: 'json' } },
        { url: 'https://b', auth: [{ user: 'u', password: 'p' }] },
      ],
    };
    assert.deepEqual(redacted(args), {
      requests: [
        { url: 'https://a', headers: { Authorization: REDACTED, Accept: 'json' } },
        { url: 'https://b', auth: [{ user: 'u', password: REDACTED }] },
      ],
    });
  });

  test('non-object roots pass through (strings still scrubbed)', () => {
    assert.deepEqual(redacted([1, 'two']), [1, 'two']);
    assert.equal(redacted(7), 7);
    assert.equal(redacted(null), null);
    assert.equal(redacted('Bearer abcdef'), `Bearer ${REDACTED}`);
  });

  test(`containers nested deeper than ${MAX_DEPTH} levels become ${TOO_DEEP}`, () => {
    const nest = (levels: number): unknown => {
      let v: unknown = 'leaf';
      for (let i = 0; i < levels; i++) v = { a: v };
      return v;
    };
    assert.deepEqual(redacted(nest(MAX_DEPTH)), nest(MAX_DEPTH), `${MAX_DEPTH} levels are kept whole`);
    let inner: unknown = redacted(nest(MAX_DEPTH + 1));
    for (let i = 0; i < MAX_DEPTH; i++) inner = (inner as { a: unknown }).a;
    assert.equal(inner, TOO_DEEP);
  });

  test('arguments nested far beyond the call stack are still hashed and bounded', () => {
    const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)) as unknown;
    const r = redact(deep);
    assert.match(r.hash, /^[0-9a-f]{64}$/);
    assert.ok(JSON.stringify(r.args).includes(TOO_DEEP));
  });
});

describe('paths', () => {
  test('a dotted path replaces exactly that value', () => {
    const r = createRedactor({ paths: ['card.number'] });
    assert.deepEqual(r({ card: { number: '4111', expiry: '12/30' }, number: 'not this one' }).args, {
      card: { number: REDACTED, expiry: '12/30' },
      number: 'not this one',
    });
  });

  test('* matches any array index', () => {
    const r = createRedactor({ paths: ['payments.*.iban'] });
    const args = { payments: [{ iban: 'DE89', amount: 5 }, { iban: 'FR76', amount: 6 }], iban: 'top-level stays' };
    assert.deepEqual(r(args).args, { payments: [{ iban: REDACTED, amount: 5 }, { iban: REDACTED, amount: 6 }], iban: 'top-level stays' });
  });

  test('* matches any key, at the end of a path too', () => {
    const r = createRedactor({ paths: ['headers.*', 'accounts.*.number'] });
    const args = { headers: { Accept: 'json', 'X-Trace': 't' }, accounts: { main: { number: '1', name: 'a' }, spare: { number: '2' } } };
    assert.deepEqual(r(args).args, {
      headers: { Accept: REDACTED, 'X-Trace': REDACTED },
      accounts: { main: { number: REDACTED, name: 'a' }, spare: { number: REDACTED } },
    });
  });

  test('a numeric segment names one array index', () => {
    const r = createRedactor({ paths: ['rows.0'] });
    assert.deepEqual(r({ rows: ['first', 'second'] }).args, { rows: [REDACTED, 'second'] });
  });

  test('a path whose value is absent changes nothing', () => {
    const r = createRedactor({ paths: ['card.number'] });
    assert.deepEqual(r({ card: 'none' }).args, { card: 'none' });
  });
});

describe('user key patterns', () => {
  test('plain user keys add to the defaults with the same matching', () => {
    const r = createRedactor({ keys: ['iban'] });
    assert.deepEqual(r({ IBAN: 'DE89', payee_iban: 'FR76', password: 'p', name: 'n' }).args, {
      IBAN: REDACTED,
      payee_iban: REDACTED,
      password: REDACTED,
      name: 'n',
    });
  });

  test('a /regex/i pattern is a regular expression tested against the key as written', () => {
    const r = createRedactor({ keys: ['/^x-.*-sig$/i'] });
    assert.deepEqual(r({ 'X-Hub-Sig': 'abc', 'x-hub-signature-extra': 'kept', xhubsig: 'kept' }).args, {
      'X-Hub-Sig': REDACTED,
      'x-hub-signature-extra': 'kept',
      xhubsig: 'kept',
    });
  });

  test('regex patterns match the same way on every call (no lastIndex state)', () => {
    const r = createRedactor({ keys: ['/pin/'] });
    for (let i = 0; i < 3; i++) assert.deepEqual(r({ pin: '1234' }).args, { pin: REDACTED });
  });
});

describe('strings that look like secrets, whatever their key', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
  const cases: [string, string, string][] = [
    ['Bearer token in a header line', 'Authorization: Bearer abc.def', `Authorization: Bearer ${REDACTED}`],
    ['lower-case bearer', 'bearer abc123==', `bearer ${REDACTED}`],
    ['a JWT alone', jwt, REDACTED],
    ['a JWT inside a URL', `https://x/cb?id_token=${jwt}&state=1`, `https://x/cb?id_token=${REDACTED}&state=1`],
    ['Bearer JWT', `Bearer ${jwt}`, `Bearer ${REDACTED}`],
    ['OpenAI key', 'use sk-proj-AbCdEf0123456789xyz please', `use ${REDACTED} please`],
    ['GitHub classic token', 'ghp_0123456789abcdefghijABCDEFGHIJ012345', REDACTED],
    ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnop', REDACTED],
    ['Slack bot token', 'token xoxb-1234567890-abcdefghij', `token ${REDACTED}`],
    ['Slack user token', 'xoxp-1234567890-0987654321', REDACTED],
    ['AWS access key id', 'key=AKIAIOSFODNN7EXAMPLE;', `key=${REDACTED};`],
    ['two secrets in one string', 'a sk-aaaaaaaaaaaaaaaaaaaa b ghp_bbbbbbbbbbbbbbbbbbbbbbbb', `a ${REDACTED} b ${REDACTED}`],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => {
      assert.deepEqual(redacted({ note: input, list: [input] }), { note: expected, list: [expected] });
    });
  }

  test('look-alikes that are not secrets are kept', () => {
    const harmless = ['task-manager', 'sk-short', 'AKIA', 'eyJ alone', 'the ghp_ prefix', 'desk-lamp-0123456789abcdef'];
    for (const text of harmless) assert.deepEqual(redacted({ note: text }), { note: text });
  });
});

describe('size and safety', () => {
  test(`strings over ${MAX_STRING_CHARS} chars are cut with a marker saying how much was dropped`, () => {
    const out = redacted({ body: 'x'.repeat(MAX_STRING_CHARS + 1000) }) as { body: string };
    assert.equal(out.body, `${'x'.repeat(MAX_STRING_CHARS)}…[+1000 chars]`);
    const exact = 'y'.repeat(MAX_STRING_CHARS);
    assert.deepEqual(redacted({ body: exact }), { body: exact });
  });

  test('a cut never splits a surrogate pair', () => {
    const text = `${'x'.repeat(MAX_STRING_CHARS - 1)}😀${'z'.repeat(10)}`;
    const out = (redacted({ t: text }) as { t: string }).t;
    assert.equal(out, `${'x'.repeat(MAX_STRING_CHARS - 1)}…[+12 chars]`);
  });

  test('huge keys are cut too', () => {
    const key = 'k'.repeat(MAX_STRING_CHARS + 5);
    assert.deepEqual(Object.keys(redacted({ [key]: 1 }) as object), [`${'k'.repeat(MAX_STRING_CHARS)}…[+5 chars]`]);
  });

  test('the input is never mutated', () => {
    const args = { password: 'p', nested: [{ token: 't', note: 'Bearer abc' }], body: 'b'.repeat(MAX_STRING_CHARS * 2) };
    const before = structuredClone(args);
    const out = createRedactor({ paths: ['nested.*.note'] })(args).args;
    assert.deepEqual(args, before);
    assert.notEqual(out, args);
  });

  test('a "__proto__" key stays a data key and does not change the copy\'s prototype', () => {
    const args = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const out = redacted(args) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__', 'a']);
    assert.equal((out as { polluted?: unknown }).polluted, undefined);
  });
});

describe('hash', () => {
  const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

  test('is the sha256 of the canonical JSON of the original (unredacted) arguments', () => {
    const args = { b: [3, { z: 1, y: 'Bearer q' }], a: 'secret', password: 'p' };
    assert.equal(redact(args).hash, sha256('{"a":"secret","b":[3,{"y":"Bearer q","z":1}],"password":"p"}'));
  });

  test('is stable under key reordering at any depth', () => {
    const one = { a: 1, b: { c: [1, { d: 2, e: 3 }], f: null } };
    const two = { b: { f: null, c: [1, { e: 3, d: 2 }] }, a: 1 };
    assert.equal(redact(one).hash, redact(two).hash);
  });

  test('differs when any value, key, or array order differs, including inside redacted values', () => {
    const base = { password: 'a', list: [1, 2], n: 1 };
    const variants = [{ password: 'b', list: [1, 2], n: 1 }, { password: 'a', list: [2, 1], n: 1 }, { password: 'a', list: [1, 2], n: '1' }, { password: 'a', list: [1, 2], m: 1 }];
    const hashes = new Set([base, ...variants].map((v) => redact(v).hash));
    assert.equal(hashes.size, variants.length + 1);
  });

  test('is the same in every mode, and for no arguments is the hash of null', () => {
    const args = { token: 't', x: [1] };
    const hashes = (['full', 'keys', 'none'] as const).map((mode) => createRedactor({ mode })(args).hash);
    assert.deepEqual(new Set(hashes).size, 1);
    assert.deepEqual(redact(undefined), { hash: sha256('null') });
  });

  test('canonical JSON sorts keys by code unit and writes no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], '10': 0, '2': 0, é: 1 }), '{"10":0,"2":0,"a":[true,null,"x"],"b":1,"é":1}');
    assert.equal(canonicalJson({ skip: undefined, keep: 1, arr: [undefined] }), '{"arr":[null],"keep":1}');
  });
});

describe('modes', () => {
  test('keys: objects keep their keys, values become their JSON type names', () => {
    const r = createRedactor({ mode: 'keys' });
    const args = { s: 'secret text', n: 1.5, b: false, z: null, list: [{ hidden: 1 }], obj: { inner: { deep: 'x' }, password: 'p' } };
    assert.deepEqual(r(args), {
      args: { s: 'string', n: 'number', b: 'boolean', z: 'null', list: 'array', obj: { inner: { deep: 'string' }, password: 'string' } },
      hash: redact(args).hash,
    });
    assert.equal(r('text').args, 'string');
    assert.equal(r([1]).args, 'array');
  });

  test('none: only the hash', () => {
    const r = createRedactor({ mode: 'none' });
    const out = r({ password: 'p', a: 1 });
    assert.deepEqual(Object.keys(out), ['hash']);
    assert.equal(out.hash, redact({ a: 1, password: 'p' }).hash);
  });
});

describe('bad configuration throws at creation, naming the culprit and the reason', () => {
  const cases: [string, Parameters<typeof createRedactor>[0], RegExp][] = [
    ['invalid regex', { keys: ['/(unclosed/i'] }, /"\/\(unclosed\/i" is not a valid regular expression/],
    ['regex without closing slash', { keys: ['/abc'] }, /"\/abc" starts with \/ but is not a \/regex\/flags/],
    ['unknown regex flag', { keys: ['/abc/q'] }, /"\/abc\/q" is not a valid regular expression/],
    ['stateful regex flag', { keys: ['/abc/g'] }, /"\/abc\/g": flags g and y are not allowed/],
    ['pattern that matches every key', { keys: ['-_'] }, /"-_" is empty once case/],
    ['empty path', { paths: [''] }, /path "" is empty/],
    ['doubled dot', { paths: ['card..number'] }, /path "card\.\.number" has an empty segment/],
    ['trailing dot', { paths: ['card.'] }, /path "card\." has an empty segment/],
    ['partial wildcard', { paths: ['payments.iban*'] }, /path "payments\.iban\*": \* must be a whole segment/],
    ['unknown mode', { mode: 'some' as never }, /mode "some" is not one of full, keys, none/],
  ];
  for (const [name, opts, message] of cases) {
    test(name, () => {
      assert.throws(() => createRedactor(opts), (err: Error & { code?: string }) => {
        assert.match(err.message, message);
        assert.equal(err.code, 'CONFIG_INVALID');
        return true;
      });
    });
  }
});
