// The live connection to /ws: reconnects with backoff and resumes from the last event id, so
// the page misses nothing and sees nothing twice. A socket closed because its session ended
// (4401: logged out elsewhere, the password changed, the user disabled) sends the page to the
// login: the tab is logged out too.
// A command that never reached the server, or whose answer was lost with the connection.
const disconnected = (message) => Object.assign(new Error(message), { code: "disconnected" });
const SESSION_ENDED = 4401; // server/sockets.py, CLOSE_SESSION_ENDED

export class Socket {
  constructor({ onEvent, onFrame, onState, onResync }) {
    this.onEvent = onEvent;
    this.onFrame = onFrame || (() => {});
    this.onState = onState || (() => {});
    this.onResync = onResync || (() => {});
    this.lastEventId = null;
    this.backoff = 500;
    this.nextRef = 1;
    this.pending = new Map();
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.backoff = 500;
      // Always say hello first: the server holds live events until a socket's first frame, so a
      // resume replays strictly before them; a fresh page has nothing to resume from.
      const hello = { type: "hello" };
      if (this.lastEventId !== null) hello.last_event_id = this.lastEventId;
      ws.send(JSON.stringify(hello));
      this.onState("open");
    });
    ws.addEventListener("message", (e) => this.receive(JSON.parse(e.data)));
    ws.addEventListener("close", (e) => {
      if (e.code === SESSION_ENDED) {
        location.assign("/login");
        return;
      }
      this.onState("closed");
      for (const { reject } of this.pending.values()) reject(disconnected("connection lost"));
      this.pending.clear();
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 15000);
    });
  }

  receive(frame) {
    if (frame.type === "ack" || frame.type === "error") {
      const waiter = this.pending.get(frame.ref);
      if (waiter) {
        this.pending.delete(frame.ref);
        if (frame.type === "ack") waiter.resolve(frame.data);
        else waiter.reject(Object.assign(new Error(frame.error.message), frame.error));
      }
      this.onFrame(frame);
      return;
    }
    if (frame.type === "resync") {
      this.lastEventId = null;
      this.onResync();
      return;
    }
    if (typeof frame.id === "number") {
      if (this.lastEventId !== null && frame.id <= this.lastEventId) return;
      this.lastEventId = frame.id;
      this.onEvent(frame);
    }
  }

  isOpen() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  command(type, data) {
    const ref = String(this.nextRef++);
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(disconnected("not connected"));
        return;
      }
      this.pending.set(ref, { resolve, reject });
      this.ws.send(JSON.stringify({ type, ref, data }));
    });
  }
}
