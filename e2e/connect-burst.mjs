// Race 1 of issue 9, many times over with the real socket.io-client: each of
// COUNT sockets emits `room:join` inside its `connect` callback (what the
// frontend does), and every one of those emits must get an ack. Prints one
// JSON line: {"sockets", "acked", "failures": [...]}.
//
// Environment: URL, TOKEN (required), COUNT (default 50), AT_ONCE (default 10),
// TRANSPORTS (comma list, default the client's).
import { io } from "socket.io-client";

const env = process.env;
const count = Number(env.COUNT ?? 50);
const atOnce = Number(env.AT_ONCE ?? 10);
const transports = env.TRANSPORTS ? env.TRANSPORTS.split(",") : undefined;

function once(index) {
  return new Promise((resolve) => {
    const socket = io(env.URL, {
      path: "/socket.io/",
      reconnection: false,
      forceNew: true,
      timeout: 5000,
      auth: { token: env.TOKEN },
      ...(transports ? { transports } : {}),
    });
    const done = (outcome) => {
      socket.close();
      resolve(outcome);
    };
    socket.on("connect", () => {
      socket.timeout(5000).emit("room:join", { room: `darkroom:burst-${index % 5}` }, (err, ack) => {
        if (err) done(`socket ${index}: no ack within 5 s`);
        else if (!ack || ack.ok !== true) done(`socket ${index}: ${JSON.stringify(ack)}`);
        else done(null);
      });
    });
    socket.on("connect_error", (err) => done(`socket ${index}: connect_error ${err.message}`));
  });
}

const failures = [];
let acked = 0;
for (let start = 0; start < count; start += atOnce) {
  const batch = [];
  for (let index = start; index < Math.min(count, start + atOnce); index += 1) batch.push(once(index));
  for (const outcome of await Promise.all(batch)) {
    if (outcome === null) acked += 1;
    else failures.push(outcome);
  }
}
process.stdout.write(JSON.stringify({ sockets: count, acked, failures }) + "\n");
process.exit(0);
