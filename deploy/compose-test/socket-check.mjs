// Socket.IO through the gateway of the compose-rendering test (run.py): eight users with
// dev tokens sign in through the bridge, connect from different loopback addresses (the
// gateway's sticky hash spreads them over both realtime instances), join one Dark Room,
// and every one of them receives one message. Prints one summary line; exits non-zero on
// any failure. Uses the gateway e2e's pinned socket.io-client (deploy/e2e/node_modules).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const { io } = require('socket.io-client');

const gateway = process.env.GATEWAY_URL;
const origin = process.env.ORIGIN;
const room = `darkroom:compose-${randomUUID().slice(0, 8)}`;

function post(path, headers, localAddress) {
  return new Promise((resolve, reject) => {
    const request = http.request(new URL(path, gateway), {
      method: 'POST', localAddress, headers: { 'Content-Type': 'application/json', ...headers },
    }, (response) => {
      let body = '';
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    request.on('error', reject);
    request.end('{}');
  });
}

async function client(index) {
  const localAddress = `127.0.0.${60 + index}`;
  const supabase = execFileSync(process.env.AUTH_BIN, ['dev-token', '--name', `User ${index}`, '--ttl', '10m'],
    { env: { ...process.env } }).toString().trim();
  const bridged = await post('/api/auth/session/bridge', { Authorization: `Bearer ${supabase}`, Origin: origin }, localAddress);
  if (bridged.status !== 200) throw new Error(`bridge ${bridged.status}: ${bridged.body}`);
  const { access_token: token } = JSON.parse(bridged.body);
  const socket = io(gateway, {
    path: '/socket.io/', auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true,
    agent: new http.Agent({ localAddress }), timeout: 10_000,
  });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (error) => reject(new Error(`connect_error ${error.message}`)));
  });
  let ack;
  try {
    ack = await socket.timeout(10_000).emitWithAck('room:join', { room });
  } catch (error) {
    throw new Error(`user ${index} (${localAddress}): room:join: ${error.message}`);
  }
  if (!ack.ok) throw new Error(`room:join ${JSON.stringify(ack)}`);
  return socket;
}

const sockets = await Promise.all(Array.from({ length: 8 }, (_, index) => client(index)));
const [sender, ...receivers] = sockets;
const arrivals = receivers.map((socket) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('no room:message within 5 s')), 5000);
  socket.on('room:message', (message) => {
    if (message.text === 'hello from compose') { clearTimeout(timer); resolve(); }
  });
}));
const sent = await sender.timeout(10_000).emitWithAck('room:message', { room, text: 'hello from compose' });
if (!sent.ok) throw new Error(`room:message ${JSON.stringify(sent)}`);
await Promise.all(arrivals);
for (const socket of sockets) socket.disconnect();
console.log(`socket.io through the gateway: 8 signed-in users in ${room}, 1 message reached all ${receivers.length} others`);
