// The gateway's diagnostics as an operator reads them: pino JSON lines for collectors, one readable line on a
// terminal, levels that filter, the POLICYLAYER_LOG* environment, and secrets that never reach either format.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { createLogger, type LoggerOptions } from '../../src/log.js';

/** A plain Writable that keeps what is written (what an operator's log file or collector would get). */
function capture(isTTY = false): { stream: Writable & { isTTY?: boolean }; text(): string; lines(): string[]; json(): Record<string, any>[] } {
  let text = '';
  const stream: Writable & { isTTY?: boolean } = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  if (isTTY) stream.isTTY = true;
  const lines = (): string[] => text.split('\n').filter((l) => l.length > 0);
  return { stream, text: () => text, lines, json: () => lines().map((l) => JSON.parse(l) as Record<string, any>) };
}

const SECRET = 's3cr3t-value-never-logged';

// The env variables are read by createLogger; each test sets what it needs and nothing leaks into the next one.
const saved = { level: process.env.POLICYLAYER_LOG, format: process.env.POLICYLAYER_LOG_FORMAT };
beforeEach(() => {
  delete process.env.POLICYLAYER_LOG;
  delete process.env.POLICYLAYER_LOG_FORMAT;
});
afterEach(() => {
  for (const [key, value] of [['POLICYLAYER_LOG', saved.level], ['POLICYLAYER_LOG_FORMAT', saved.format]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

const logTo = (out: ReturnType<typeof capture>, opts: Omit<LoggerOptions, 'destination'> = {}) => createLogger({ ...opts, destination: out.stream });

describe('log: format json', () => {
  test('one JSON object per line with level, time, msg, name and the fields given', () => {
    const out = capture();
    const log = logTo(out, { format: 'json', level: 'debug' });
    log.info('listening on http://127.0.0.1:8787', { servers: 2, names: ['a', 'b'] });
    log.warn('state store slow');
    log.error('upstream died', { server: 's', code: 1 });
    log.debug('frame', { bytes: 12 });

    const lines = out.lines();
    assert.equal(lines.length, 4, out.text());
    const [info, warn, error, debug] = out.json();
    assert.equal(info?.level, 'info');
    assert.equal(info?.msg, 'listening on http://127.0.0.1:8787');
    assert.equal(info?.name, 'policylayer');
    assert.equal(info?.servers, 2);
    assert.deepEqual(info?.names, ['a', 'b']);
    assert.equal(typeof info?.time, 'string');
    assert.ok(Math.abs(Date.parse(info!.time) - Date.now()) < 60_000, `time is an ISO timestamp of now: ${info?.time}`);
    assert.equal(warn?.level, 'warn');
    assert.equal(warn?.msg, 'state store slow');
    assert.deepEqual([error?.level, error?.server, error?.code], ['error', 's', 1]);
    assert.deepEqual([debug?.level, debug?.bytes], ['debug', 12]);
  });

  test('secret fields are [REDACTED] at the top level and one object down; the rest is kept', () => {
    const out = capture();
    const log = logTo(out, { format: 'json' });
    log.info('call', {
      password: SECRET,
      token: SECRET,
      authorization: `Bearer ${SECRET}`,
      headers: { 'x-api-key': SECRET },
      args: { text: SECRET },
      server: 'billing',
      upstream: { token: SECRET, password: SECRET, authorization: SECRET, url: 'http://upstream' },
    });
    assert.ok(!out.text().includes(SECRET), `a secret reached the log: ${out.text()}`);
    const [line] = out.json();
    for (const key of ['password', 'token', 'authorization', 'headers', 'args']) assert.equal(line?.[key], '[REDACTED]', key);
    assert.deepEqual(line?.upstream, { token: '[REDACTED]', password: '[REDACTED]', authorization: '[REDACTED]', url: 'http://upstream' });
    assert.equal(line?.server, 'billing');
    assert.equal(line?.msg, 'call');
  });

  test('level warn drops info and debug, keeps warn and error', () => {
    const out = capture();
    const log = logTo(out, { format: 'json', level: 'warn' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    assert.deepEqual(out.json().map((l) => [l.level, l.msg]), [['warn', 'w'], ['error', 'e']]);
  });

  test('level silent writes nothing', () => {
    const out = capture();
    const log = logTo(out, { format: 'json', level: 'silent' });
    log.error('e');
    assert.equal(out.text(), '');
  });

  test('POLICYLAYER_LOG and POLICYLAYER_LOG_FORMAT apply when the options are absent', () => {
    process.env.POLICYLAYER_LOG = 'error';
    process.env.POLICYLAYER_LOG_FORMAT = 'json';
    // A terminal would get pretty lines by default; the env asks for JSON.
    const out = capture(true);
    const log = logTo(out);
    log.warn('dropped');
    log.error('kept', { n: 1 });
    assert.deepEqual(out.json().map((l) => [l.level, l.msg, l.n]), [['error', 'kept', 1]]);
  });

  test('options win over the environment', () => {
    process.env.POLICYLAYER_LOG = 'error';
    process.env.POLICYLAYER_LOG_FORMAT = 'pretty';
    const out = capture();
    const log = logTo(out, { level: 'info', format: 'json' });
    log.info('shown');
    assert.deepEqual(out.json().map((l) => l.msg), ['shown']);
  });

  test('without options or env: JSON when the destination is not a terminal, pretty when it is', () => {
    const pipe = capture();
    logTo(pipe).info('to a collector');
    assert.equal(pipe.json()[0]?.msg, 'to a collector');
    const tty = capture(true);
    logTo(tty).info('to a person');
    assert.equal(tty.text(), 'policylayer: to a person\n');
  });
});

describe('log: format pretty', () => {
  test('"policylayer: msg key=value" for info, the level named for the others', () => {
    const out = capture();
    const log = logTo(out, { format: 'pretty', level: 'debug' });
    log.info('listening', { port: 8787, host: '127.0.0.1' });
    log.warn('slow store', { ms: 250 });
    log.error('failed', { reason: 'two words' });
    log.debug('frame');
    assert.deepEqual(out.lines(), [
      'policylayer: listening port=8787 host=127.0.0.1',
      'policylayer warn: slow store ms=250',
      'policylayer error: failed reason="two words"',
      'policylayer debug: frame',
    ]);
  });

  test('level warn drops info and debug; POLICYLAYER_LOG=error drops warn', () => {
    const out = capture();
    const log = logTo(out, { format: 'pretty', level: 'warn' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    assert.deepEqual(out.lines(), ['policylayer warn: w']);

    process.env.POLICYLAYER_LOG = 'error';
    process.env.POLICYLAYER_LOG_FORMAT = 'pretty';
    const env = capture();
    const fromEnv = logTo(env);
    fromEnv.warn('w');
    fromEnv.error('e');
    assert.deepEqual(env.lines(), ['policylayer error: e']);
  });

  test('secret fields are [REDACTED], nested at any depth too', () => {
    const out = capture();
    const log = logTo(out, { format: 'pretty' });
    log.info('call', {
      password: SECRET,
      token: SECRET,
      headers: { authorization: SECRET },
      args: [SECRET],
      upstream: { url: 'http://u', auth: { token: SECRET, deeper: { password: SECRET, authorization: SECRET } } },
    });
    const text = out.text();
    assert.ok(!text.includes(SECRET), `a secret reached the log: ${text}`);
    assert.match(text, /^policylayer: call password=\[REDACTED\] token=\[REDACTED\] headers=\[REDACTED\] args=\[REDACTED\] upstream=/);
    const upstream = JSON.parse(/upstream=(\{.*\})$/m.exec(text)?.[1] ?? 'null') as Record<string, any>;
    assert.deepEqual(upstream, { url: 'http://u', auth: { token: '[REDACTED]', deeper: { password: '[REDACTED]', authorization: '[REDACTED]' } } });
  });
});

describe('log: secrets in any spelling and at any depth', () => {
  for (const format of ['json', 'pretty'] as const) {
    test(`${format}: keys in any case, nested in objects and arrays, are redacted; errors show their message`, () => {
      const out = capture();
      const log = logTo(out, { format });
      log.warn('upstream refused', {
        Authorization: `Bearer ${SECRET}`,
        deep: { a: { b: { Password: SECRET } } },
        list: [{ refresh_token: SECRET }, { X_API_KEY: SECRET }],
        err: new Error('connect ECONNREFUSED'),
        server: 'pay',
      });
      assert.ok(!out.text().includes(SECRET), out.text());
      assert.match(out.text(), /ECONNREFUSED/);
      assert.match(out.text(), /pay/);
    });
  }
});
