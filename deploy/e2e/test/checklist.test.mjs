// The old stack's own checklist of success, item by item, through the gateway:
// sign-in without errors, "Session bridge successful", a user_sessions row,
// "Socket connected successfully", Dark Room and Hangout messages in real time.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import {
  ask,
  bridge,
  connect,
  env,
  nextEvent,
  request,
  signIn,
  socketFor,
  sql,
  supabaseToken,
  uniqueSlug,
} from './helpers.mjs';

const quote = (value) => String(value).replace(/'/g, "''");
const sockets = [];
function track(socket) {
  sockets.push(socket);
  return socket;
}
after(() => {
  for (const socket of sockets) socket.disconnect();
});

describe('sign-in through the gateway', () => {
  test('the session bridge answers 200 with a session, an access token and both cookies', async () => {
    const user = await supabaseToken({ name: 'Ada' });
    const response = await bridge(user);
    assert.equal(response.status, 200, response.body);
    assert.equal(response.json.success, true);
    assert.match(response.json.message, /session/i);
    assert.equal(response.json.user.id, user.sub);
    assert.ok(response.json.access_token, 'an access token in the body');
    assert.ok(response.json.session?.id, 'a backend session id in the body');
    const cookies = (response.headers['set-cookie'] || []).join('\n');
    assert.match(cookies, /nexus_access_token=[^;]+;.*HttpOnly/i);
    assert.match(cookies, /nexus_refresh_token=[^;]+;.*Path=\/api\/auth/i);
  });

  test('user_sessions gets the row, with the client address from the gateway, not a spoofed header', async () => {
    const user = await supabaseToken();
    const session = await signIn(user, {
      localAddress: '127.0.0.23',
      headers: { 'X-Forwarded-For': '203.0.113.66' },
    });
    const rows = await sql(
      `SELECT user_id, ip_address, revoked_at IS NULL FROM user_sessions WHERE id = '${quote(session.sessionId)}'`,
    );
    assert.equal(rows.length, 1, 'exactly one user_sessions row for the bridged session');
    const [userId, ipAddress, active] = rows[0];
    assert.equal(userId, user.sub);
    assert.equal(ipAddress, '127.0.0.23', 'the address nginx saw');
    assert.equal(active, 't');
  });

  test('nginx overwrites X-Forwarded-For instead of passing the client value on', async () => {
    // From 127.0.0.1 (itself a trusted proxy address) a passed-on header would be believed.
    const session = await signIn(await supabaseToken(), {
      localAddress: '127.0.0.1',
      headers: { 'X-Forwarded-For': '203.0.113.77' },
    });
    const rows = await sql(`SELECT ip_address FROM user_sessions WHERE id = '${quote(session.sessionId)}'`);
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0][0], '203.0.113.77', 'a client-supplied X-Forwarded-For reached the service');
  });

  test('bridging the same Supabase session again returns the same backend session', async () => {
    const user = await supabaseToken();
    const first = await signIn(user);
    const second = await signIn(user);
    assert.equal(second.sessionId, first.sessionId);
    const rows = await sql(`SELECT count(*) FROM user_sessions WHERE user_id = '${user.sub}'`);
    assert.equal(rows[0][0], '1');
  });

  test('a bad Supabase token is a clear 401 in the envelope, never a 500', async () => {
    const response = await bridge({ token: 'not-a-jwt' });
    assert.equal(response.status, 401, response.body);
    assert.equal(response.json.success, false);
    assert.ok(response.json.message, 'a human message');
    assert.ok(response.json.error, 'a machine error code');
  });
});

describe('Socket.IO through the gateway', () => {
  test('Socket connected successfully: WebSocket with the backend access token', async () => {
    const session = await signIn(await supabaseToken());
    const socket = track(socketFor(session.accessToken, { transports: ['websocket'] }));
    await connect(socket);
    assert.equal(socket.connected, true);
    assert.equal(socket.io.engine.transport.name, 'websocket');
  });

  test('the stock client default (polling, then upgrade) connects and upgrades', async () => {
    const session = await signIn(await supabaseToken());
    const socket = track(socketFor(session.accessToken));
    await connect(socket);
    if (socket.io.engine.transport.name !== 'websocket') {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no upgrade to websocket')), 5_000);
        socket.io.engine.once('upgrade', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    assert.equal(socket.io.engine.transport.name, 'websocket');
  });

  test('the existing frontend: its Supabase token connects once the bridge ran', async () => {
    const user = await supabaseToken();
    await signIn(user);
    const socket = track(socketFor(user.token, { transports: ['websocket'] }));
    await connect(socket);
    assert.equal(socket.connected, true);
  });

  test('connecting before the bridge (the old bug) is refused as unauthorized, not a crash', async () => {
    const user = await supabaseToken();
    const socket = track(socketFor(user.token, { transports: ['websocket'] }));
    await assert.rejects(connect(socket), (error) => {
      assert.equal(error.message, 'unauthorized');
      return true;
    });
  });

  test('the access-token cookie from the bridge connects a socket from an allowed origin', async () => {
    const session = await signIn(await supabaseToken());
    const cookie = session.cookies.map((line) => line.split(';')[0]).join('; ');
    const socket = track(
      socketFor(undefined, {
        transports: ['websocket'],
        extraHeaders: { Cookie: cookie, Origin: env.origin },
      }),
    );
    await connect(socket);
    assert.equal(socket.connected, true);
  });
});

describe('rooms in real time', () => {
  test('Dark Room: a message reaches the other member at once, under an alias', async () => {
    const alice = await signIn(await supabaseToken({ name: 'Alice' }));
    const bob = await signIn(await supabaseToken({ name: 'Bob' }));
    const a = track(socketFor(alice.accessToken, { transports: ['websocket'] }));
    const b = track(socketFor(bob.accessToken, { transports: ['websocket'] }));
    await connect(a);
    await connect(b);
    const room = `darkroom:${uniqueSlug('e2e')}`;
    assert.equal((await ask(a, 'room:join', { room })).ok, true);
    assert.equal((await ask(b, 'room:join', { room })).ok, true);

    const received = nextEvent(b, 'room:message', (message) => message.room === room);
    const sentAt = Date.now();
    const ack = await ask(a, 'room:message', { room, text: 'hello from the dark' });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    const message = await received;
    const latency = Date.now() - sentAt;
    assert.equal(message.text, 'hello from the dark');
    assert.equal(message.id, ack.id);
    assert.ok(latency < 1_000, `delivered in ${latency} ms`);
    const wire = JSON.stringify(message);
    assert.ok(!wire.includes(alice.userId), 'no user id in a Dark Room message');
    assert.ok(!wire.includes('Alice'), 'no display name in a Dark Room message');
  });

  test('Hangout: create, join with presence, messages both ways with names', async () => {
    const alice = await signIn(await supabaseToken({ name: 'Alice' }));
    const bob = await signIn(await supabaseToken({ name: 'Bob' }));
    const a = track(socketFor(alice.accessToken, { transports: ['websocket'] }));
    const b = track(socketFor(bob.accessToken, { transports: ['websocket'] }));
    await connect(a);
    await connect(b);

    const created = await ask(a, 'hangout:create', { name: uniqueSlug('Hangout') });
    assert.equal(created.ok, true, JSON.stringify(created));
    const room = created.room;
    assert.match(room, /^hangout:/);
    assert.equal((await ask(a, 'room:join', { room })).ok, true);

    const presence = nextEvent(a, 'room:presence', (event) => event.room === room && Boolean(event.joined));
    const joined = await ask(b, 'room:join', { room });
    assert.equal(joined.ok, true, JSON.stringify(joined));
    const seen = await presence;
    assert.ok(JSON.stringify(seen.joined).includes('Bob') || JSON.stringify(seen.members).includes('Bob'));

    const toBob = nextEvent(b, 'room:message', (message) => message.room === room);
    assert.equal((await ask(a, 'room:message', { room, text: 'hi Bob' })).ok, true);
    const atBob = await toBob;
    assert.equal(atBob.text, 'hi Bob');
    assert.ok(JSON.stringify(atBob.from).includes('Alice'), 'Hangout messages carry the name');

    const toAlice = nextEvent(a, 'room:message', (message) => message.room === room);
    assert.equal((await ask(b, 'room:message', { room, text: 'hi Alice' })).ok, true);
    assert.equal((await toAlice).text, 'hi Alice');
  });

  test('logout through the gateway ends the session and its socket', async () => {
    const session = await signIn(await supabaseToken());
    const socket = track(socketFor(session.accessToken, { transports: ['websocket'] }));
    await connect(socket);
    const kicked = new Promise((resolve) => {
      socket.on('session:revoked', () => resolve('session:revoked'));
      socket.on('disconnect', () => resolve('disconnect'));
    });
    const response = await request('POST', '/api/auth/session/logout?scope=local', {
      headers: { Origin: env.origin, Authorization: `Bearer ${session.accessToken}` },
      body: {},
    });
    assert.equal(response.status, 200, response.body);
    const rows = await sql(`SELECT revoked_at IS NOT NULL FROM user_sessions WHERE id = '${quote(session.sessionId)}'`);
    assert.deepEqual(rows, [['t']]);
    const outcome = await Promise.race([
      kicked,
      new Promise((resolve) => setTimeout(() => resolve('still connected'), 5_000)),
    ]);
    assert.notEqual(outcome, 'still connected', 'the revoked session keeps no socket');
  });
});
