// The old stack's WebSocket closed before it was established and then looped on
// reconnects. Here one WebSocket through nginx must stay up across several Engine.IO
// ping intervals (heartbeats answered through the proxy, proxy_read_timeout above
// pingInterval + pingTimeout), keep its id, and still carry messages afterwards.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { ask, connect, env, signIn, socketFor, supabaseToken, uniqueSlug } from './helpers.mjs';

const PINGS = 3;
const sockets = [];
after(() => {
  for (const socket of sockets) socket.disconnect();
});

test(`a WebSocket stays connected across ${PINGS} ping intervals without reconnecting`, async () => {
  const session = await signIn(await supabaseToken());
  const socket = socketFor(session.accessToken, { transports: ['websocket'] });
  sockets.push(socket);
  const disconnects = [];
  socket.on('disconnect', (reason) => disconnects.push(reason));
  await connect(socket);
  const id = socket.id;
  const engineId = socket.io.engine.id;

  let pings = 0;
  const started = Date.now();
  await new Promise((resolve, reject) => {
    const limit = env.pingIntervalMs * (PINGS + 1) + 10_000;
    const timer = setTimeout(
      () => reject(new Error(`only ${pings} pings in ${limit} ms (disconnects: ${disconnects.join(', ') || 'none'})`)),
      limit,
    );
    socket.io.on('ping', () => {
      pings += 1;
      if (pings >= PINGS) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const elapsed = Date.now() - started;

  assert.deepEqual(disconnects, [], 'no disconnect while idle');
  assert.equal(socket.connected, true);
  assert.equal(socket.id, id, 'the same Socket.IO session');
  assert.equal(socket.io.engine.id, engineId, 'the same Engine.IO session: no reconnect');
  assert.equal(socket.io.engine.transport.name, 'websocket');
  assert.ok(elapsed >= env.pingIntervalMs * (PINGS - 1), `${pings} pings took ${elapsed} ms`);

  // Still a working connection after the idle time.
  const room = `darkroom:${uniqueSlug('idle')}`;
  assert.equal((await ask(socket, 'room:join', { room })).ok, true);
  const ack = await ask(socket, 'room:message', { room, text: 'still here' });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  assert.ok(ack.id, 'the message got an id');
});
