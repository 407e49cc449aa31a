// Hostile soak of one realtime instance (scripts/hostile_soak.sh starts it).
//
// Normal clients: NORMAL_ROOMS rooms of NORMAL_PER_ROOM sockets; one sender
// per room emits a message every SEND_MS; every receiver measures the time
// from send to receipt (same process, same clock). Hostile clients, from
// HOSTILE_SECONDS into the run: oversized WebSocket frames (a header claiming
// 1 MiB, before and after CONNECT), floods of joins to fresh rooms, sockets
// that stop reading (their TCP receive side paused) in the normal rooms.
// Phase 1 (baseline) runs normal traffic alone, phase 2 adds the hostiles.
//
// Normal and hostile clients run in two processes (ROLE=normal, ROLE=hostile)
// so the hostiles' work never delays the normal clients' own event loop: the
// latency measured is the server's. They meet through files in CONTROL_DIR:
// the normal process writes rooms.json once its rooms exist, `start` when
// phase 2 begins and `stop` when it ends.
// The normal process prints one JSON line per phase: {phase, deliveries,
// expected, p50_ms, p99_ms, missing}; the hostile one prints its counts.
//
// Environment: ROLE, CONTROL_DIR, URL, TOKENS (comma list: normal clients'
// tokens, reused round-robin), HOSTILE_TOKENS (comma list), PHASE_SECONDS
// (default 30), NORMAL_ROOMS (5), NORMAL_PER_ROOM (10), SEND_MS (200),
// HOSTILES (10).
import { io } from "socket.io-client";
import net from "node:net";
import fs from "node:fs";
import path from "node:path";

const env = process.env;
const url = new URL(env.URL);
const tokens = env.TOKENS.split(",");
const hostileTokens = (env.HOSTILE_TOKENS ?? env.TOKENS).split(",");
const phaseSeconds = Number(env.PHASE_SECONDS ?? 30);
const roomsCount = Number(env.NORMAL_ROOMS ?? 5);
const perRoom = Number(env.NORMAL_PER_ROOM ?? 10);
const sendMs = Number(env.SEND_MS ?? 200);
const hostiles = Number(env.HOSTILES ?? 10);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const role = env.ROLE ?? "normal";
const control = (name) => path.join(env.CONTROL_DIR, name);
const waitForFile = async (name) => {
  while (!fs.existsSync(control(name))) await sleep(100);
};
let tokenIndex = 0;
const nextToken = (list) => list[tokenIndex++ % list.length];

function open(token, extra = {}) {
  return new Promise((resolve, reject) => {
    const socket = io(env.URL, {
      path: "/socket.io/", transports: ["websocket"], reconnection: false, forceNew: true,
      timeout: 10000, auth: { token }, ...extra,
    });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(new Error(err.message)));
  });
}

const join = (socket, room) =>
  new Promise((resolve) => socket.timeout(10000).emit("room:join", { room }, (err, ack) => resolve(err ? null : ack)));

// ---- hostile traffic ----
let hostileCounts = { oversized: 0, oversized_closed: 0, join_floods: 0, flood_acks: 0, stuck: 0 };
let hostileRunning = false;

/** A masked client text frame (payloads under 64 KiB). */
function textFrame(payload) {
  const data = Buffer.from(payload);
  const mask = [1, 2, 3, 4];
  const header = data.length < 126
    ? Buffer.from([0x81, 0x80 | data.length])
    : Buffer.from([0x81, 0x80 | 126, data.length >> 8, data.length & 0xff]);
  const masked = Buffer.from(data.map((byte, index) => byte ^ mask[index % 4]));
  return Buffer.concat([header, Buffer.from(mask), masked]);
}

/** Opens a raw WebSocket, optionally sends CONNECT, then a frame header claiming 1 MiB. */
function oversizedFrame(token) {
  return new Promise((resolve) => {
    const tcp = net.connect(Number(url.port), url.hostname, () => {
      tcp.write(
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
    });
    let stage = 0;
    const oversized = () => {
      const header = Buffer.alloc(14);
      header[0] = 0x81;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(1024n * 1024n, 2);
      header.set([1, 2, 3, 4], 10);
      tcp.write(header);
      tcp.write(Buffer.alloc(4096, 0x78));
      hostileCounts.oversized += 1;
    };
    tcp.on("data", (chunk) => {
      if (stage === 0 && chunk.includes("101")) {
        stage = 1;
        if (token) tcp.write(textFrame(`40${JSON.stringify({ token })}`));
        else oversized();
      } else if (stage === 1 && token && chunk.includes('40{"sid"')) {
        stage = 2;
        oversized();
      }
    });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; tcp.destroy(); }, 10000);
    tcp.on("close", () => {
      clearTimeout(timer);
      if (stage >= 1 && !timedOut) hostileCounts.oversized_closed += 1;
      resolve();
    });
    tcp.on("error", () => {});
  });
}

async function joinFlood(token) {
  let socket;
  try {
    socket = await open(token);
  } catch {
    return;
  }
  hostileCounts.join_floods += 1;
  for (let i = 0; i < 200 && hostileRunning; i += 1) {
    const ack = await join(socket, `darkroom:flood-${Math.random().toString(36).slice(2)}`);
    if (ack) hostileCounts.flood_acks += 1;
    if (ack && ack.ok) {
      await new Promise((resolve) => socket.timeout(5000).emit("room:leave", { room: ack.room }, resolve));
    }
  }
  socket.close();
}

async function stuckReader(token, room) {
  let socket;
  try {
    socket = await open(token);
  } catch {
    return null;
  }
  await join(socket, room);
  // Stop reading: the TCP socket under the WebSocket is paused.
  const raw = socket.io.engine.transport.ws?._socket;
  if (raw) raw.pause();
  hostileCounts.stuck += 1;
  return socket;
}

async function hostileLoop(normalRooms) {
  const stuck = [];
  for (let i = 0; i < hostiles; i += 1) {
    const s = await stuckReader(nextToken(hostileTokens), normalRooms[i % normalRooms.length]);
    if (s) stuck.push(s);
  }
  while (hostileRunning) {
    await Promise.all([
      oversizedFrame(null),
      oversizedFrame(nextToken(hostileTokens)),
      ...Array.from({ length: Math.max(1, hostiles / 5) }, () => joinFlood(nextToken(hostileTokens))),
    ]);
  }
  for (const s of stuck) s.close();
}

// ---- normal clients' state (ROLE=normal) ----
let latencies = [];
let sent = 0;
let received = 0;
const rooms = [];
let senders = [];

function report(phase) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const pick = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);
  process.stdout.write(
    JSON.stringify({
      phase, deliveries: received, expected: sent, p50_ms: pick(0.5), p99_ms: pick(0.99),
      missing: Math.max(0, sent - received),
    }) + "\n",
  );
  latencies = [];
  sent = 0;
  received = 0;
}


async function normalRole() {
  fs.writeFileSync(control("rooms.json"), JSON.stringify(rooms.map(({ room }) => room)));
  await sleep(phaseSeconds * 1000);
  report("baseline");
  fs.writeFileSync(control("start"), "");
  await sleep(phaseSeconds * 1000);
  report("hostile");
  fs.writeFileSync(control("stop"), "");
  senders.forEach(clearInterval);
  for (const { members } of rooms) members.forEach((socket) => socket.close());
}

async function hostileRole() {
  await waitForFile("rooms.json");
  const normalRooms = JSON.parse(fs.readFileSync(control("rooms.json"), "utf8"));
  await waitForFile("start");
  hostileRunning = true;
  const hostile = hostileLoop(normalRooms);
  await waitForFile("stop");
  hostileRunning = false;
  await Promise.race([hostile, sleep(15000)]);
  process.stdout.write(JSON.stringify({ phase: "hostile clients", hostile: { ...hostileCounts } }) + "\n");
}

if (role === "hostile") {
  await hostileRole();
} else {
  const create = (socket, name) =>
    new Promise((resolve, reject) =>
      socket.timeout(10000).emit("hangout:create", { name }, (err, ack) =>
        err || !ack?.ok ? reject(new Error(`hangout:create: ${JSON.stringify(err ?? ack)}`)) : resolve(ack.room),
      ),
    );
  for (let r = 0; r < roomsCount; r += 1) {
    let room = null;
    const members = [];
    for (let m = 0; m < perRoom; m += 1) {
      const socket = await open(nextToken(tokens));
      // Only created hangouts can be joined: the first member creates it.
      room ??= await create(socket, `soak ${r}`);
      await join(socket, room);
      socket.on("room:message", (message) => {
        const at = Number(message.text.split(":")[1]);
        if (Number.isFinite(at)) {
          latencies.push(Date.now() - at);
          received += 1;
        }
      });
      members.push(socket);
    }
    rooms.push({ room, members });
  }
  senders = rooms.map(({ room, members }) =>
    setInterval(() => {
      sent += members.length - 1;
      members[0].emit("room:message", { room, text: `t:${Date.now()}` });
    }, sendMs),
  );

  await normalRole();
}
process.exit(0);
