// A real socket.io-client (the one the frontend uses), remote-controlled by the
// Rust integration tests of realtime-service.
//
// Why a driver and not one script per scenario: the scenarios need several
// clients, sometimes on several server instances, interleaved with actions on
// the Rust side (revoking a session, restarting a server). Each client is one
// `node e2e/client.mjs` process; the test reads what happened as JSON lines on
// stdout and sends commands as JSON lines on stdin.
//
// Environment:
//   URL         server origin, e.g. http://127.0.0.1:8003 (required)
//   AUTH_MODE   auth | bearer | cookie | none (default auth)
//   TOKEN       token for AUTH_MODE auth/bearer/cookie
//   ORIGIN      Origin header to send (optional)
//   SEC_FETCH_SITE  Sec-Fetch-Site header to send (optional; what a browser adds)
//   TRANSPORTS  comma list, e.g. "polling" or "websocket" (default: client's)
//   RECONNECT   "1" to let the client reconnect by itself (default off)
//   WIRE        "1" to also print every raw Engine.IO packet received
//   RECOVER     "1" to re-join, after every reconnect, each room joined before
//               with the last {epoch, seq} seen (connection-state recovery)
//   ON_CONNECT  JSON list of [event, data] emitted (with acks, ref "on_connect:<i>")
//               inside the first `connect` callback, the way the frontend joins rooms
//
// Output lines: {"type":"connect",...} | {"type":"connect_error","message"}
//   | {"type":"event","event","data"} | {"type":"ack","ref","data"}
//   | {"type":"disconnect","reason"} | {"type":"wire","data"} | {"type":"error",...}
//   | {"type":"rejoin","room","since","data"}  (RECOVER=1: the re-join's ack)
// Input lines: {"cmd":"emit","ref":1,"event":"room:join","data":{...}}
//   | {"cmd":"emit_raw","ref":2,"event":"x","args":[...]}  (any argument list)
//   | {"cmd":"emit_binary","ref":3,"event":"x","bytes":1024}  (a Buffer attachment)
//   | {"cmd":"disconnect"} | {"cmd":"connect"} | {"cmd":"exit"}
import { io } from "socket.io-client";
import { createInterface } from "node:readline";

const env = process.env;
const url = env.URL;
if (!url) {
  console.error("URL is required");
  process.exit(2);
}
const mode = env.AUTH_MODE ?? "auth";
const token = env.TOKEN ?? "";

function out(line) {
  process.stdout.write(JSON.stringify({ at: Date.now(), ...line }) + "\n");
}

const extraHeaders = {};
if (env.ORIGIN) extraHeaders["Origin"] = env.ORIGIN;
if (env.SEC_FETCH_SITE) extraHeaders["Sec-Fetch-Site"] = env.SEC_FETCH_SITE;
if (mode === "bearer") extraHeaders["Authorization"] = `Bearer ${token}`;
if (mode === "cookie") extraHeaders["Cookie"] = `theme=dark; nexus_access_token=${token}`;

const options = {
  path: "/socket.io/",
  reconnection: env.RECONNECT === "1",
  reconnectionDelay: 200,
  reconnectionDelayMax: 1000,
  timeout: 5000,
  extraHeaders,
};
if (mode === "auth") options.auth = { token };
if (env.TRANSPORTS) options.transports = env.TRANSPORTS.split(",");

const socket = io(url, options);

// Connection-state recovery, the pattern every client of realtime-service
// should follow: remember per room the last {epoch, seq} seen (room:message
// events, our own message acks, join replies) and, on every reconnect,
// re-join each room with it as `since`. The reply then holds exactly the
// missed messages (`recovered: true`) or the latest history
// (`recovered: false`: another instance, or too much or too long missed).
// A message sent while the join is answered may arrive just before its ack:
// keep the larger seq.
const recover = env.RECOVER === "1";
const cursors = new Map();

function advance(room, epoch, seq) {
  if (typeof room !== "string" || typeof epoch !== "string" || !Number.isInteger(seq)) return;
  const cursor = cursors.get(room);
  if (!cursor || cursor.epoch !== epoch || seq > cursor.seq) cursors.set(room, { epoch, seq });
}

function joined(room, ack) {
  if (!ack || ack.ok !== true) return;
  const cursor = cursors.get(room);
  if (cursor && cursor.epoch !== ack.epoch) cursors.delete(room);
  advance(room, ack.epoch, ack.seq);
  for (const message of ack.history ?? []) advance(room, message.epoch, message.seq);
}

socket.on("room:message", (message) => {
  if (message) advance(message.room, message.epoch, message.seq);
});

let connectedBefore = false;
socket.on("connect", () => {
  if (connectedBefore && recover) {
    for (const [room, since] of cursors) {
      socket.timeout(5000).emit("room:join", { room, since }, (err, ack) => {
        if (!err) joined(room, ack);
        out({ type: "rejoin", room, since, data: err ? { timeout: true } : ack });
      });
    }
  }
  connectedBefore = true;
});
const onConnect = env.ON_CONNECT ? JSON.parse(env.ON_CONNECT) : [];
let firstConnect = true;

socket.on("connect", () => {
  if (firstConnect) {
    firstConnect = false;
    onConnect.forEach(([event, data], index) => {
      socket.timeout(5000).emit(event, data, (err, ack) => {
        out({ type: "ack", ref: `on_connect:${index}`, data: err ? { timeout: true } : ack });
      });
    });
  }
  out({ type: "connect", id: socket.id, transport: socket.io.engine.transport.name });
  socket.io.engine.once("upgrade", (transport) => out({ type: "upgrade", transport: transport.name }));
  if (env.WIRE === "1") {
    socket.io.engine.on("packet", (packet) => {
      if (packet.type === "message") out({ type: "wire", data: String(packet.data) });
    });
  }
});
socket.on("connect_error", (err) => out({ type: "connect_error", message: err.message }));
socket.on("disconnect", (reason) => out({ type: "disconnect", reason }));
socket.onAny((event, ...args) => out({ type: "event", event, data: args[0] ?? null }));

// The recovery cursors follow what the test's own commands did.
function track(event, room, ack) {
  if (!ack || ack.ok !== true) return;
  if (event === "room:join") joined(room, ack);
  if (event === "room:message") advance(room, ack.epoch, ack.seq);
  if (event === "room:leave") cursors.delete(room);
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    out({ type: "error", message: `bad command: ${e.message}` });
    return;
  }
  switch (cmd.cmd) {
    case "emit":
      socket.timeout(5000).emit(cmd.event, cmd.data, (err, ack) => {
        if (!err && cmd.data && typeof cmd.data.room === "string") track(cmd.event, cmd.data.room, ack);
        out({ type: "ack", ref: cmd.ref, data: err ? { timeout: true } : ack });
      });
      break;
    case "emit_raw":
      socket.timeout(5000).emit(cmd.event, ...(cmd.args ?? []), (err, ack) => {
        out({ type: "ack", ref: cmd.ref, data: err ? { timeout: true } : ack });
      });
      break;
    case "emit_binary":
      socket.timeout(5000).emit(cmd.event, { room: "x", file: Buffer.alloc(cmd.bytes ?? 16, 1) }, (err, ack) => {
        out({ type: "ack", ref: cmd.ref, data: err ? { timeout: true } : ack });
      });
      break;
    case "disconnect":
      socket.disconnect();
      break;
    case "connect":
      socket.connect();
      break;
    case "exit":
      socket.close();
      process.exit(0);
  }
});
rl.on("close", () => {
  socket.close();
  process.exit(0);
});
