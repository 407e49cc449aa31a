// Long-polling through the gateway against two realtime instances. Polling is many HTTP
// requests per Engine.IO session; without the sticky upstream they would land on the
// instance that does not know the session ("Session ID unknown") and never connect.
// Clients leave from different loopback addresses, so the hash spreads them over both
// instances; the room is shared between the instances over RabbitMQ.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import {
  accessLog,
  ask,
  connect,
  env,
  nextEvent,
  signIn,
  socketFor,
  supabaseToken,
  uniqueSlug,
} from './helpers.mjs';

const addresses = Array.from({ length: 12 }, (_, index) => `127.0.0.${index + 40}`);
const sockets = [];
after(() => {
  for (const socket of sockets) socket.disconnect();
});

test('polling-only clients on two instances connect, stay on one instance each and share a room', async () => {
  const clients = [];
  for (const localAddress of addresses) {
    const session = await signIn(await supabaseToken(), { localAddress });
    const socket = socketFor(session.accessToken, {
      transports: ['polling'],
      upgrade: false,
      localAddress,
    });
    sockets.push(socket);
    await connect(socket);
    assert.equal(socket.io.engine.transport.name, 'polling');
    clients.push({ localAddress, socket });
  }

  const room = `darkroom:${uniqueSlug('sticky')}`;
  for (const { socket } of clients) {
    const ack = await ask(socket, 'room:join', { room });
    assert.equal(ack.ok, true, JSON.stringify(ack));
  }

  // One message from the first client reaches every other client, on either instance.
  const [sender, ...receivers] = clients;
  const arrivals = receivers.map(({ socket }) =>
    nextEvent(socket, 'room:message', (message) => message.room === room && message.text === 'poll hello', 5_000),
  );
  const ack = await ask(sender.socket, 'room:message', { room, text: 'poll hello' });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  const delivered = await Promise.all(arrivals);
  assert.equal(delivered.length, receivers.length);

  // And a reply the other way, from the last client.
  const back = nextEvent(sender.socket, 'room:message', (message) => message.text === 'poll reply', 5_000);
  assert.equal((await ask(receivers.at(-1).socket, 'room:message', { room, text: 'poll reply' })).ok, true);
  await back;

  // The gateway's access log shows which instance served each request.
  const upstreamsByClient = new Map();
  for (const entry of accessLog()) {
    if (!entry.parsed || !entry.path.startsWith('/socket.io/')) continue;
    if (!addresses.includes(entry.client)) continue;
    const seen = upstreamsByClient.get(entry.client) || new Set();
    seen.add(entry.upstream);
    upstreamsByClient.set(entry.client, seen);
  }
  assert.equal(upstreamsByClient.size, addresses.length, 'every client shows up in the access log');
  const used = new Set();
  for (const [client, upstreams] of upstreamsByClient) {
    assert.equal(upstreams.size, 1, `${client} was served by ${[...upstreams].join(' and ')}`);
    used.add([...upstreams][0]);
  }
  assert.deepEqual(
    [...used].sort(),
    [...env.realtimeUpstreams].sort(),
    'the clients are spread over both realtime instances',
  );
});
