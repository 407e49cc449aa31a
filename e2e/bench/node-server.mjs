// Stock Node socket.io 4.8 server with the benchmark's two room events
// (room:join -> ack; room:message -> broadcast to the room + ack).
// PORT (default 8023) on HOST (default 127.0.0.1: the benchmark stays on loopback).
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.env.PORT ?? 8023);
const host = process.env.HOST ?? "127.0.0.1";
const http = createServer();
const io = new Server(http, { path: "/socket.io/", serveClient: false });
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
http.listen(port, host, () => console.log(`node socket.io listening on ${host}:${port}`));
