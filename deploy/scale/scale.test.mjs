// The many-instance scale test (deploy/scale/run.sh starts the stack: 4 realtime, 2 auth,
// 2 session-store instances behind the gateway). Thousands of real socket.io-client sockets
// go through the gateway from many loopback addresses, so its sticky hash spreads them over
// every realtime instance; rooms span all instances. What a user would notice is asserted:
// messages arrive exactly once, presence is the same whichever instance you ask, a logout
// ends the session's sockets everywhere within a second, and a crashed instance's users
// are back (through the gateway, on another instance) within seconds.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const { io } = require('socket.io-client');
const run = promisify(execFile);

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run deploy/scale/run.sh`);
  return value;
}

const config = {
  gateway: required('GATEWAY_URL'),
  origin: required('SCALE_ORIGIN'),
  realtime: required('REALTIME_URLS').split(','),
  authBin: required('AUTH_SERVICE_BIN'),
  secret: required('SUPABASE_JWT_SECRET'),
  devDir: required('NEXUS_DEV_DIR'),
  sockets: Number(process.env.SCALE_SOCKETS || 2000),
  users: Number(process.env.SCALE_USERS || 200),
  rooms: Number(process.env.SCALE_ROOMS || 20),
  // Source addresses: the gateway hashes the client address, so many addresses spread
  // the sockets over the instances (each address stays on one instance).
  addresses: Array.from({ length: 64 }, (_, index) => `127.0.1.${index + 1}`),
};
const socketsPerUser = Math.ceil(config.sockets / config.users);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `task` over `items` with at most `limit` at once. */
async function pool(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function request(method, path, { headers = {}, body, localAddress, base = config.gateway } = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), {
      method, localAddress, timeout: 15_000,
      headers: { Accept: 'application/json', ...(payload ? { 'Content-Type': 'application/json' } : {}), ...headers },
    }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A user signed in through the gateway's bridge: {userId, accessToken, name}. */
async function signIn(name, localAddress) {
  const { stdout } = await run(config.authBin,
    ['dev-token', '--name', name, '--sub', randomUUID(), '--session-id', randomUUID(), '--ttl', '1h'],
    { env: { ...process.env, SUPABASE_JWT_SECRET: config.secret } });
  const bridged = await request('POST', '/api/auth/session/bridge', {
    headers: { Authorization: `Bearer ${stdout.trim()}`, Origin: config.origin }, body: {}, localAddress,
  });
  assert.equal(bridged.status, 200, bridged.text);
  const body = JSON.parse(bridged.text);
  return { name, userId: body.user.id, accessToken: body.access_token };
}

/** One socket of a user, with what it received and how its connection went. */
class Client {
  constructor(user, localAddress, url = config.gateway) {
    this.user = user;
    this.localAddress = localAddress;
    this.url = url;
    this.rooms = new Set();
    this.received = [];
    this.connects = 0;
    this.disconnects = [];
    this.rejoins = [];
    this.gone = false;
  }

  /**
   * Connects; a refusal with `unavailable` (session-store busy, e.g. its pool timing out
   * under the connect burst of debug builds) is retried after a pause, as a client should.
   */
  async connect(options = {}) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.connectOnce(options);
      } catch (error) {
        this.socket.close();
        if (!/unavailable/.test(error.message) || attempt >= 6) throw error;
        Client.retries += 1;
        await sleep(250 * attempt);
      }
    }
  }

  connectOnce({ reconnection = true } = {}) {
    this.socket = io(this.url, {
      path: '/socket.io/', transports: ['websocket'], forceNew: true, multiplex: false,
      auth: (callback) => callback({ token: this.user.accessToken }),
      localAddress: this.localAddress, timeout: 20_000,
      reconnection, reconnectionDelay: 300, reconnectionDelayMax: 1500,
    });
    this.socket.on('room:message', (message) => this.received.push(message));
    this.socket.on('disconnect', (reason) => this.disconnects.push(reason));
    this.socket.on('connect', () => {
      this.connects += 1;
      if (this.connects > 1) this.rejoin();
    });
    // After a reconnect attempt the Manager retries transport failures by itself, but not
    // a refusal by the server (`socket.active` false): `unavailable` is worth a retry.
    this.socket.on('connect_error', (error) => {
      if (this.connects === 0 || this.gone || this.socket.active) return;
      if (error.message !== 'unavailable') return;
      Client.retries += 1;
      setTimeout(() => this.socket.connect(), 300 + Math.random() * 700);
    });
    return new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('connect_error', (error) => reject(new Error(`connect_error: ${error.message}`)));
    });
  }

  ask(event, payload) {
    return this.socket.timeout(15_000).emitWithAck(event, payload);
  }

  async join(room) {
    const ack = await this.ask('room:join', { room });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    this.rooms.add(room);
    return ack;
  }

  async leave(room) {
    const ack = await this.ask('room:leave', { room });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    this.rooms.delete(room);
  }

  /** After a reconnect (another instance): back into every room, history included. */
  async rejoin() {
    for (const room of this.rooms) {
      try {
        const ack = await this.ask('room:join', { room });
        this.rejoins.push({ room, ok: ack.ok === true, history: (ack.history || []).length });
      } catch (error) {
        this.rejoins.push({ room, ok: false, error: error.message });
      }
    }
  }

  close() {
    this.gone = true;
    this.socket?.disconnect();
  }
}
Client.retries = 0;

async function metricsOf(url) {
  const { status, text } = await request('GET', '/metrics', { base: url });
  assert.equal(status, 200);
  const value = (name) => Number((text.match(new RegExp(`^${name} (\\d+)`, 'm')) || [])[1]);
  return { connections: value('realtime_connections'), rooms: value('realtime_rooms') };
}

/**
 * A round of messages: in every room, three members on (likely) different instances send
 * five messages each; then every member must hold each message of its rooms, from the
 * others, exactly once, and nothing from rooms it is not in.
 */
async function messageRound(phase, clients, rooms) {
  const live = clients.filter((client) => !client.gone);
  const sent = [];
  await Promise.all(rooms.map(async (room) => {
    const members = live.filter((client) => client.rooms.has(room));
    const senders = [members[0], members[Math.floor(members.length / 2)], members[members.length - 1]];
    for (const [senderIndex, sender] of senders.entries()) {
      for (let k = 0; k < 5; k += 1) {
        const text = `${phase}|${room}|${senderIndex}|${k}`;
        const ack = await sender.ask('room:message', { room, text });
        assert.equal(ack.ok, true, JSON.stringify(ack));
        sent.push({ room, text, sender });
        await sleep(20);
      }
    }
  }));
  const expectedFor = (client) => sent.filter((m) => client.rooms.has(m.room) && m.sender !== client);
  const ofPhase = (client) => client.received.filter((m) => m.text.startsWith(`${phase}|`));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (live.every((client) => ofPhase(client).length >= expectedFor(client).length)) break;
    await sleep(250);
  }
  await sleep(500); // late duplicates would arrive now
  let deliveries = 0;
  const problems = [];
  for (const client of live) {
    const counts = new Map();
    for (const message of ofPhase(client)) counts.set(message.text, (counts.get(message.text) || 0) + 1);
    for (const message of expectedFor(client)) {
      const count = counts.get(message.text) || 0;
      if (count !== 1) problems.push(`${client.user.name}@${client.localAddress} got "${message.text}" ${count} times`);
      counts.delete(message.text);
      deliveries += count;
    }
    for (const [text, count] of counts) problems.push(`${client.user.name} got "${text}" (${count}x) from a room it is not in or its own`);
  }
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} delivery problems in ${phase}`);
  return { messages: sent.length, deliveries };
}

const clients = [];
const extras = [];
after(() => {
  for (const client of [...clients, ...extras]) client.close();
});

test('4 realtime / 2 auth / 2 session-store instances behind the gateway', async (t) => {
  const users = await pool(Array.from({ length: config.users }, (_, index) => index), 8,
    (index) => signIn(`User ${index}`, config.addresses[index % config.addresses.length]));
  const rooms = [];

  await t.test(`${config.sockets} sockets through the gateway spread over every instance, rooms spanning all`, async () => {
    for (let index = 0; index < config.sockets; index += 1) {
      const user = users[index % config.users];
      clients.push(new Client(user, config.addresses[(index * 7) % config.addresses.length]));
    }
    const started = Date.now();
    await pool(clients, 40, (client) => client.connect());
    const seconds = (Date.now() - started) / 1000;
    // Hangouts created by different users; each socket joins one, round robin.
    for (let r = 0; r < config.rooms; r += 1) {
      const ack = await clients[r].ask('hangout:create', { name: `Scale ${r}` });
      assert.equal(ack.ok, true, JSON.stringify(ack));
      rooms.push(ack.room);
    }
    await pool(clients, 100, (client, index) => client.join(rooms[index % rooms.length]));
    const perInstance = await Promise.all(config.realtime.map(metricsOf));
    const total = perInstance.reduce((sum, m) => sum + m.connections, 0);
    assert.equal(total, config.sockets, `instances report ${perInstance.map((m) => m.connections)}`);
    for (const [index, m] of perInstance.entries()) {
      assert.ok(m.connections >= config.sockets * 0.1, `instance ${index + 1} holds only ${m.connections} sockets`);
      assert.ok(m.rooms >= config.rooms, `instance ${index + 1} has local members in ${m.rooms} of ${config.rooms} rooms`);
    }
    t.diagnostic(`connected ${config.sockets} sockets in ${seconds.toFixed(1)} s (${Client.retries} connects retried after \`unavailable\`); per instance: ${perInstance.map((m) => m.connections).join(' / ')}`);
  });

  await t.test('every member gets every message exactly once', async () => {
    const { messages, deliveries } = await messageRound('a', clients, rooms);
    t.diagnostic(`${messages} messages, ${deliveries} deliveries, each exactly once`);
  });

  await t.test('presence agrees on every instance after churn', async () => {
    // Churn: a fifth of the sockets leave their room, a tenth disconnect, a tenth join a
    // second room.
    const shuffled = [...clients].sort(() => Math.random() - 0.5);
    const leaving = shuffled.slice(0, Math.floor(clients.length * 0.2));
    const quitting = shuffled.slice(leaving.length, leaving.length + Math.floor(clients.length * 0.1));
    const joining = shuffled.slice(leaving.length + quitting.length,
      leaving.length + quitting.length + Math.floor(clients.length * 0.1));
    await pool(leaving, 50, (client) => client.leave([...client.rooms][0]));
    for (const client of quitting) client.close();
    await pool(joining, 50, (client) => client.join(rooms[Math.floor(Math.random() * rooms.length)]));

    // One probe per instance, connected to it directly, in every room.
    const probes = [];
    for (const [index, url] of config.realtime.entries()) {
      const probe = new Client(await signIn(`Probe ${index + 1}`, '127.0.0.1'), '127.0.0.1', url);
      await probe.connect({ reconnection: false });
      extras.push(probe);
      probes.push(probe);
    }
    for (const probe of probes) for (const room of rooms) await probe.join(room);
    const expected = (room) => new Set([...clients, ...probes]
      .filter((client) => !client.gone && client.rooms.has(room))
      .map((client) => client.user.userId));
    let disagreement = 'never checked';
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      await sleep(3000); // the probes' event budget: 20 joins per 3 s
      disagreement = null;
      const views = await Promise.all(probes.map(async (probe) => {
        const view = new Map();
        for (const room of rooms) {
          const ack = await probe.ask('room:join', { room });
          view.set(room, new Set((ack.members || []).map((member) => member.id)));
        }
        return view;
      }));
      for (const room of rooms) {
        const want = [...expected(room)].sort().join(',');
        for (const [index, view] of views.entries()) {
          const got = [...view.get(room)].sort().join(',');
          if (got !== want) {
            disagreement = `${room} on instance ${index + 1}: ${view.get(room).size} members, expected ${expected(room).size}`;
          }
        }
      }
      if (!disagreement) break;
    }
    assert.equal(disagreement, null, disagreement);
    for (const probe of probes) probe.close();
    const { messages, deliveries } = await messageRound('b', clients, rooms);
    t.diagnostic(`after churn (${leaving.length} left a room, ${quitting.length} disconnected, ${joining.length} joined another): presence equal on all ${probes.length} instances; ${messages} messages, ${deliveries} deliveries exactly once`);
  });

  await t.test('a logout kicks the session on every instance within a second', async () => {
    const user = await signIn('Leaver', '127.0.0.1');
    const sockets = [];
    for (const url of config.realtime) {
      const client = new Client(user, '127.0.0.1', url);
      await client.connect({ reconnection: false });
      extras.push(client);
      sockets.push(client);
    }
    const started = performance.now();
    const kicked = sockets.map((client) => new Promise((resolve) => {
      client.socket.once('disconnect', () => resolve(performance.now() - started));
    }));
    const logout = await request('POST', '/api/auth/session/logout', {
      headers: { Authorization: `Bearer ${user.accessToken}`, Origin: config.origin }, body: {},
    });
    const answered = performance.now() - started;
    assert.equal(logout.status, 200, logout.text);
    const times = await Promise.race([
      Promise.all(kicked),
      sleep(5000).then(() => { throw new Error('not every socket was kicked within 5 s'); }),
    ]);
    const slowest = Math.max(...times);
    assert.ok(slowest < 1000, `slowest kick after ${slowest.toFixed(0)} ms`);
    t.diagnostic(`logout answered after ${answered.toFixed(0)} ms and kicked ${times.length} sockets on ${config.realtime.length} instances; slowest ${slowest.toFixed(0)} ms`);
  });

  await t.test('an instance killed mid-run: its clients reconnect elsewhere and get every later message once', async () => {
    const victim = 3;
    const pid = Number(readFileSync(`${config.devDir}/realtime-${victim}.pid`, 'utf8').trim());
    const live = clients.filter((client) => !client.gone);
    const before = new Map(live.map((client) => [client, client.disconnects.length]));
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    await sleep(1500);
    const affected = live.filter((client) => client.disconnects.length > before.get(client));
    assert.ok(affected.length >= live.length * 0.05, `only ${affected.length} clients noticed the kill`);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const waiting = affected.filter((client) => !client.socket.connected
        || client.rejoins.length < client.rooms.size);
      if (waiting.length === 0) break;
      await sleep(250);
    }
    const back = affected.filter((client) => client.socket.connected);
    assert.equal(back.length, affected.length, `${affected.length - back.length} clients did not reconnect`);
    const failedRejoins = affected.flatMap((client) => client.rejoins.filter((rejoin) => !rejoin.ok));
    assert.deepEqual(failedRejoins.slice(0, 5), [], 'rejoins after the reconnect failed');
    const seconds = (Date.now() - killedAt) / 1000;
    const retried = Client.retries;
    const withHistory = affected.filter((client) => client.rejoins.some((rejoin) => rejoin.history > 0)).length;
    const survivors = await Promise.all(config.realtime.filter((_, index) => index !== victim - 1).map(metricsOf));
    const { messages, deliveries } = await messageRound('c', clients, rooms);
    t.diagnostic(`killed realtime-${victim}: ${affected.length} clients reconnected through the gateway within ${seconds.toFixed(1)} s (${withHistory} got room history back; ${retried} connects retried after \`unavailable\` in the whole run); survivors hold ${survivors.map((m) => m.connections).join(' / ')}; then ${messages} messages, ${deliveries} deliveries exactly once`);
  });
});
