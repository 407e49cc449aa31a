// Connection-state recovery through the gateway with the stock socket.io-client: a client
// whose connection drops (the transport closes under it; it reconnects by itself, through
// nginx's sticky upstream to the same realtime instance) re-joins its room with the last
// {epoch, seq} it saw and gets exactly the messages sent while it was away. This is the
// pattern the README and the demo page (gateway/html/app.js) show.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { io } from 'socket.io-client';

import { agentFrom, ask, connect, env, nextEvent, signIn, socketFor, supabaseToken, uniqueSlug } from './helpers.mjs';

const sockets = [];
after(() => {
  for (const socket of sockets) socket.disconnect();
});

/** A socket that reconnects by itself and recovers its rooms on every reconnect. */
function recoveringSocket(token, localAddress) {
  const socket = io(env.gatewayUrl, {
    path: '/socket.io/',
    auth: { token },
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    timeout: 10_000,
    forceNew: true,
    autoConnect: false,
    agent: agentFrom(localAddress),
  });
  const cursors = new Map();
  const advance = (room, epoch, seq) => {
    if (typeof epoch !== 'string' || !Number.isInteger(seq)) return;
    const cursor = cursors.get(room);
    if (!cursor || cursor.epoch !== epoch || seq > cursor.seq) cursors.set(room, { epoch, seq });
  };
  socket.on('room:message', (message) => advance(message.room, message.epoch, message.seq));
  const rejoins = [];
  let connectedBefore = false;
  socket.on('connect', () => {
    if (connectedBefore) {
      for (const [room, since] of cursors) {
        rejoins.push(
          ask(socket, 'room:join', { room, since }).then((ack) => {
            if (ack.ok) {
              for (const message of ack.history) advance(room, message.epoch, message.seq);
              advance(room, ack.epoch, ack.seq);
            }
            return { room, since, ack };
          }),
        );
      }
    }
    connectedBefore = true;
  });
  return {
    socket,
    cursors,
    rejoins,
    async join(room) {
      const ack = await ask(socket, 'room:join', { room });
      assert.equal(ack.ok, true, JSON.stringify(ack));
      advance(room, ack.epoch, ack.seq);
      return ack;
    },
  };
}

test('a client whose connection dropped while 3 messages were sent gets exactly those 3', async () => {
  // Both from one address: the sticky upstream puts them on the same instance.
  const localAddress = '127.0.0.90';
  const alice = await signIn(await supabaseToken({ name: 'Alice' }), { localAddress });
  const bob = await signIn(await supabaseToken({ name: 'Bob' }), { localAddress });
  const a = recoveringSocket(alice.accessToken, localAddress);
  sockets.push(a.socket);
  const b = socketFor(bob.accessToken, { localAddress, transports: ['websocket'] });
  sockets.push(b);
  await connect(a.socket);
  await connect(b);

  const room = `darkroom:${uniqueSlug('recover')}`;
  const joined = await a.join(room);
  assert.equal(typeof joined.epoch, 'string');
  assert.equal((await ask(b, 'room:join', { room })).ok, true);
  const first = nextEvent(a.socket, 'room:message', (message) => message.text === 'before');
  assert.equal((await ask(b, 'room:message', { room, text: 'before' })).ok, true);
  const before = await first;
  assert.equal(before.epoch, joined.epoch);
  assert.deepEqual(a.cursors.get(room), { epoch: joined.epoch, seq: before.seq });

  // The connection drops under the client (as when a phone loses its network): no
  // Socket.IO disconnect, the Engine.IO connection just closes ("forced close" on this
  // side, a transport close on the server's); the client reconnects by itself.
  const dropped = new Promise((resolve) => a.socket.once('disconnect', resolve));
  a.socket.io.engine.close();
  assert.notEqual(await dropped, 'io client disconnect');
  const missed = [];
  for (const text of ['one', 'two', 'three']) {
    const ack = await ask(b, 'room:message', { room, text });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    missed.push(ack);
  }
  await new Promise((resolve) => (a.socket.connected ? resolve() : a.socket.once('connect', resolve)));
  while (a.rejoins.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  const { since, ack } = await a.rejoins[0];
  assert.deepEqual(since, { epoch: joined.epoch, seq: before.seq });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  assert.equal(ack.recovered, true, JSON.stringify(ack));
  assert.deepEqual(
    ack.history.map((message) => message.text),
    ['one', 'two', 'three'],
  );
  assert.deepEqual(
    ack.history.map((message) => message.seq),
    missed.map((sent) => sent.seq),
    'the seqs the sender was given',
  );
  assert.deepEqual(a.cursors.get(room), { epoch: joined.epoch, seq: missed.at(-1).seq });

  // Live again, in sequence.
  const live = nextEvent(a.socket, 'room:message', (message) => message.text === 'after');
  assert.equal((await ask(b, 'room:message', { room, text: 'after' })).ok, true);
  assert.equal((await live).seq, missed.at(-1).seq + 1);
});
