// Load generator for the realtime benchmark (real socket.io-client).
//
// MODE=idle    N sockets connect (spread over LOCAL_ADDRS), report the connect
//              rate, print {"ready":...}, hold until stdin says "close", then
//              disconnect all and print {"closed":true}.
// MODE=fanout  MEMBERS sockets join ROOM; SENDERS sockets send room:message
//              for SECONDS. RATE=0: saturated (each sender keeps WINDOW messages
//              in flight, limited by acks); RATE>0: each sender sends RATE/s.
//              Reports deliveries/s and latency p50/p99 (send -> receive).
//              RATES=a,b,...: one measurement per rate on the same sockets, one
//              result line each (RATE is the one-rate form). SYNC=1: after
//              joining print {"joined":n} and before each rate wait for a "go"
//              line on stdin, so several load processes start together.
import { io } from "socket.io-client";
import { createInterface } from "node:readline";

const env = process.env;
const url = env.URL;
const token = env.TOKEN ?? "";
const mode = env.MODE ?? "idle";
const addrs = (env.LOCAL_ADDRS ?? "127.0.0.1").split(",");
const room = env.ROOM ?? "darkroom:bench";
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

let retries = 0;
// A refusal with `unavailable` (session-store busy under the connect burst) is retried
// a few times with a pause, as a real client would; other refusals count as errors.
async function open(i, attempt = 1) {
  const result = await new Promise((resolve) => {
    const s = io(url, {
      transports: ["websocket"],
      reconnection: false,
      auth: { token },
      localAddress: addrs[i % addrs.length],
      timeout: 60000,
    });
    s.once("connect", () => resolve(s));
    s.once("connect_error", (e) => resolve({ error: e.message, s }));
  });
  if (result.error === "unavailable" && attempt < 6) {
    result.s.close();
    retries++;
    await new Promise((r) => setTimeout(r, 200 * attempt));
    return open(i, attempt + 1);
  }
  return result;
}

async function openMany(n, concurrency = Number(env.CONC ?? 100)) {
  const sockets = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < n) {
      const i = next++;
      const s = await open(i);
      if (s.error) { errors++; s.s.close(); } else sockets.push(s);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { sockets, errors, seconds };
}

const emitAck = (s, ev, data) => new Promise((r) => s.emit(ev, data, r));

if (mode === "idle") {
  const n = Number(env.N ?? 1000);
  const { sockets, errors, seconds } = await openMany(n);
  out({ ready: sockets.length, errors, connect_seconds: seconds, connects_per_second: sockets.length / seconds });
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    if (line.trim() === "close") {
      for (const s of sockets) s.close();
      setTimeout(() => { out({ closed: true }); process.exit(0); }, 2000);
    }
  });
} else {
  const members = Number(env.MEMBERS ?? 1000);
  const senders = Number(env.SENDERS ?? 4);
  const seconds = Number(env.SECONDS ?? 10);
  const rate = Number(env.RATE ?? 0);
  const window = Number(env.WINDOW ?? 16);
  const { sockets, errors } = await openMany(members + senders);
  if (errors || retries) out({ connect_errors: errors, connect_retries: retries });
  if (sockets.length <= senders) {
    out({ error: `only ${sockets.length} sockets connected` });
    process.exit(1);
  }
  let delivered = 0;
  let lat = [];
  let measuring = false;
  await Promise.all(sockets.map((s) => emitAck(s, "room:join", { room })));
  const receivers = sockets.length - senders;
  sockets.slice(0, receivers).forEach((s, i) => {
    s.on("room:message", (m) => {
      if (!measuring) return;
      delivered++;
      if (i % 50 === 0) lat.push(performance.timeOrigin + performance.now() - Number(m.text));
    });
  });
  const senderSockets = sockets.slice(receivers);
  const sync = env.SYNC === "1";
  const lines = sync ? createInterface({ input: process.stdin })[Symbol.asyncIterator]() : null;
  const go = async () => {
    if (!sync) return;
    for (;;) {
      const { value, done } = await lines.next();
      if (done) process.exit(1); // the driver went away: stop, do not load the server alone
      if (value.trim() === "go") return;
    }
  };
  if (sync) out({ joined: receivers, senders });
  const rates = (env.RATES ?? String(rate)).split(",").map(Number);
  for (const r of rates) {
    await go();
    delivered = 0;
    lat = [];
    measuring = true;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    let sent = 0;
    const stamp = () => String(performance.timeOrigin + performance.now());
    await Promise.all(senderSockets.map(async (s) => {
      if (r > 0) {
        const gap = 1000 / r;
        let due = performance.now();
        while (performance.now() < deadline) {
          s.emit("room:message", { room, text: stamp() }, () => {});
          sent++;
          due += gap;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((res) => setTimeout(res, wait));
        }
      } else {
        await Promise.all(Array.from({ length: window }, async () => {
          while (performance.now() < deadline) {
            await emitAck(s, "room:message", { room, text: stamp() });
            sent++;
          }
        }));
      }
    }));
    await new Promise((res) => setTimeout(res, 1000));
    measuring = false;
    const elapsed = (performance.now() - started) / 1000 - 1;
    lat.sort((a, b) => a - b);
    const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] : null);
    out({ members: receivers, senders, rate: r, sent, delivered, deliveries_per_second: delivered / elapsed,
          expected: sent * receivers, p50_ms: pct(0.5), p99_ms: pct(0.99) });
  }
  for (const s of sockets) s.close();
  setTimeout(() => process.exit(0), 500);
}
