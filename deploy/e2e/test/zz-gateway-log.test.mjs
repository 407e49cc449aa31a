// Runs last (run.sh orders the files): looks back at everything the other tests sent
// through the gateway. No request got a 5xx, and the access log holds no credentials:
// no query strings (Engine.IO's `sid` lives there), no JWTs, no cookies.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { accessLog } from './helpers.mjs';

test('no request through the gateway answered with a 5xx', () => {
  const entries = accessLog();
  assert.ok(entries.length > 20, `the other tests went through the gateway (${entries.length} lines)`);
  const failures = entries.filter((entry) => entry.parsed && entry.status >= 500);
  assert.deepEqual(failures.map((entry) => entry.line), []);
});

test('the access log has no query strings, tokens or cookies', () => {
  const entries = accessLog();
  const unparsed = entries.filter((entry) => !entry.parsed);
  assert.deepEqual(unparsed.map((entry) => entry.line), [], 'every line has the expected format');
  const socketLines = entries.filter((entry) => entry.path.startsWith('/socket.io/'));
  assert.ok(socketLines.length > 0, 'Socket.IO requests were logged');
  for (const { line } of entries) {
    assert.ok(!line.includes('?'), `no query string: ${line}`);
    assert.ok(!/sid=|EIO=|transport=/.test(line), `no Engine.IO parameters: ${line}`);
    assert.ok(!/eyJ[\w-]{10,}/.test(line), `no JWT: ${line}`);
    assert.ok(!/nexus_(access|refresh)_token/.test(line), `no cookie: ${line}`);
    assert.ok(!/Bearer/i.test(line), `no Authorization: ${line}`);
  }
});
