// Stock Node socket.io 4.8 server with the benchmark's two room events
// (room:join -> ack; room:message -> broadcast to the room + ack).
import { Server } from "socket.io";

const port = Number(process.env.PORT ?? 8023);
const io = new Server(port, { path: "/socket.io/", serveClient: false });
io.on("connection", (socket) => {
  socket.on("room:join", (data, ack) => {
    socket.join(data.room);
    if (typeof ack === "function") ack({ ok: true, room: data.room });
  });
  socket.on("room:message", (data, ack) => {
    socket.to(data.room).emit("room:message", data);
    if (typeof ack === "function") ack({ ok: true });
  });
});
console.log(`node socket.io listening on ${port}`);
