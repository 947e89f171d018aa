// The gateway's desk API: JSON over fetch with the CSRF header on changes, and live sockets.
// The bearer token stays in the httpOnly cookie; this script never sees it.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class Api {
  constructor() {
    this.csrf = "";
  }

  async call(method, path, body) {
    const headers = {"content-type": "application/json"};
    if (method !== "GET") headers["x-csrf-token"] = this.csrf;
    const response = await fetch(path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const data = text && response.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : {};
    if (!response.ok) throw new ApiError(response.status, data.error || response.statusText);
    return data;
  }

  get(path) { return this.call("GET", path); }
  post(path, body = {}) { return this.call("POST", path, body); }
  patch(path, body) { return this.call("PATCH", path, body); }

  /** A live socket that reconnects with back-off until closed; `onFrame` gets each JSON frame.
   * `endsWhenDone`: a normal close by the gateway (1000) means the stream is over (a session's
   * watch ends with its conversation), so it is not opened again (`onState("ended")`). */
  live(path, onFrame, onState = () => {}, {endsWhenDone = false} = {}) {
    return new LiveSocket(path, this, onFrame, onState, endsWhenDone);
  }
}

const MAX_BACKOFF_MS = 15000;

class LiveSocket {
  constructor(path, api, onFrame, onState, endsWhenDone) {
    this.path = path;
    this.endsWhenDone = endsWhenDone;
    this.api = api;
    this.onFrame = onFrame;
    this.onState = onState;
    this.closed = false;
    this.failures = 0;
    this.queue = [];
    this.open();
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const join = this.path.includes("?") ? "&" : "?";
    const socket = new WebSocket(`${scheme}//${location.host}${this.path}${join}csrf=${encodeURIComponent(this.api.csrf)}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.failures = 0;
      this.onState("open");
      for (const frame of this.queue.splice(0)) socket.send(JSON.stringify(frame));
    });
    socket.addEventListener("message", (event) => this.onFrame(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (this.closed) return;
      // 1008: refused (signed out, no longer allowed); the desk decides what to show.
      if (event.code === 1008) { this.onState("refused", event.reason); return; }
      if (event.code === 1000 && this.endsWhenDone) { this.onState("ended"); return; }
      this.onState("reconnecting");
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.failures++) * (0.75 + Math.random() / 2);
      setTimeout(() => { if (!this.closed) this.open(); }, delay);
    });
  }

  send(frame) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
    else this.queue.push(frame);
  }

  close() {
    this.closed = true;
    this.socket.close();
  }
}
