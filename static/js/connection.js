/**
 * The connection: one Socket.IO client to the live server, and the rules that make a reconnect
 * invisible.
 *
 * The session token lives in sessionStorage, so a reload or a network blip re-attaches to the same
 * run. Frames carry `(epoch, stream_seq)`: within an epoch stream_seq is consecutive, so a gap is
 * detected and repaired with `resync` (frames that arrive meanwhile are held and replayed in
 * order), a repeat is ignored, and a new epoch (start, reset, step back) is taken from a snapshot.
 * Callers see only in-order frames and whole snapshots.
 */

import { io } from "../vendor/socket.io.esm.min.js";

const TOKEN_KEY = "delivery-lab-token";
const REQUEST_TIMEOUT_MS = 8000;

export class Connection {
  /**
   * @param {{onSession?: Function, onSnapshot: Function, onFrame: Function,
   *          onStatus?: Function, onServerError?: Function}} handlers
   */
  constructor(handlers) {
    this.h = handlers;
    this.epoch = null;
    this.streamSeq = 0;
    this.pending = new Map();
    this.repairing = false;
    this.socket = null;
    this.stats = { frames: 0, resyncs: 0, snapshots: 0, repeats: 0, reconnects: 0 };
  }

  connect() {
    const socket = io({
      auth: (cb) => {
        const token = sessionStorage.getItem(TOKEN_KEY);
        cb(token ? { token } : {});
      },
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelayMax: 3000,
    });
    this.socket = socket;
    socket.on("connect", () => this.h.onStatus?.("connected"));
    socket.on("disconnect", () => this.h.onStatus?.("reconnecting"));
    socket.on("connect_error", () => this.h.onStatus?.("reconnecting"));
    socket.io.on("reconnect", () => {
      this.stats.reconnects++;
    });
    socket.on("session", (s) => this._session(s));
    socket.on("snapshot", (s) => this._snapshot(s));
    socket.on("frame", (f) => this._frame(f));
    socket.on("error", (err) => this.h.onServerError?.(err));
  }

  /** Ask for a fresh snapshot (after showing something else). */
  refresh() {
    this.repairing = false;
    this._askSnapshot();
  }

  /** Drop the socket (used by the page only for tests of a network blip). */
  blip() {
    this.socket?.io.engine?.close();
  }

  /** Send a control; resolves with the server's answer ({ok, ...} or {ok: false, error}). */
  request(name, payload = {}) {
    return new Promise((resolve) => {
      if (!this.socket || !this.socket.connected) {
        resolve({ ok: false, error: { code: "offline", message: "Not connected to the server." } });
        return;
      }
      this.socket.timeout(REQUEST_TIMEOUT_MS).emit(name, payload, (err, answer) => {
        if (err) {
          resolve({ ok: false, error: { code: "timeout", message: "The server did not answer." } });
        } else {
          resolve(answer && typeof answer === "object" ? answer : { ok: true });
        }
      });
    });
  }

  _session(s) {
    if (s && typeof s.token === "string") sessionStorage.setItem(TOKEN_KEY, s.token);
    this.h.onSession?.(s);
    if (s && s.resumed) {
      if (this.epoch == null) this._askSnapshot();
      else this._resync();
    }
  }

  _snapshot(s) {
    if (!s || typeof s !== "object") return;
    this.stats.snapshots++;
    this.epoch = s.epoch ?? null;
    this.streamSeq = s.stream_seq ?? 0;
    this.repairing = false;
    const held = [...this.pending.values()];
    this.pending.clear();
    this.h.onSnapshot(s);
    for (const f of held.sort((a, b) => a.stream_seq - b.stream_seq)) this._frame(f);
  }

  _frame(f) {
    if (!f || typeof f !== "object") return;
    if (f.epoch !== this.epoch) {
      // A new epoch: its history comes in a snapshot unless this frame starts it from scratch.
      const first = Array.isArray(f.events) && f.events.length ? f.events[0].seq : null;
      if (f.stream_seq === 1 && (first === null || first === 1) && !this.repairing) {
        this._snapshot({ ...f, stream_seq: 0, events: [], config: null });
        this._deliver(f);
      } else {
        this.pending.set(f.stream_seq, f);
        this._askSnapshot();
      }
      return;
    }
    if (f.stream_seq <= this.streamSeq) {
      this.stats.repeats++;
      return;
    }
    if (f.stream_seq !== this.streamSeq + 1) {
      this.pending.set(f.stream_seq, f);
      this._resync();
      return;
    }
    this._deliver(f);
    this._drain();
  }

  _deliver(f) {
    this.streamSeq = f.stream_seq;
    this.stats.frames++;
    this.h.onFrame(f);
  }

  _drain() {
    while (this.pending.has(this.streamSeq + 1)) {
      const next = this.pending.get(this.streamSeq + 1);
      this.pending.delete(this.streamSeq + 1);
      this._deliver(next);
    }
    for (const k of this.pending.keys()) if (k <= this.streamSeq) this.pending.delete(k);
    if (!this.pending.size) this.repairing = false;
  }

  async _resync() {
    if (this.repairing) return;
    this.repairing = true;
    this.stats.resyncs++;
    const answer = await this.request("resync", { epoch: this.epoch, since: this.streamSeq });
    this._takeAnswer(answer, true);
    this._watchRepair();
  }

  /** If a repair has not closed the gap in a few seconds, fall back to a snapshot. */
  _watchRepair() {
    const at = this.streamSeq;
    setTimeout(() => {
      if (this.repairing && this.pending.size && this.streamSeq === at) {
        this.repairing = false;
        this._askSnapshot();
      }
    }, 3000);
  }

  async _askSnapshot() {
    if (this.repairing) return;
    this.repairing = true;
    const answer = await this.request("get_snapshot", {});
    this._takeAnswer(answer, false);
  }

  /** A resync or get_snapshot answer may carry frames or a snapshot, or they come as events. */
  _takeAnswer(answer, wasResync) {
    if (!answer || answer.ok === false) {
      this.repairing = false;
      if (wasResync) this._askSnapshot();
      return;
    }
    const snap = answer.snapshot || (answer.events && answer.stream_seq != null ? answer : null);
    if (snap) {
      this._snapshot(snap);
      return;
    }
    if (Array.isArray(answer.frames)) {
      for (const f of answer.frames) {
        if (f.epoch === this.epoch && f.stream_seq > this.streamSeq) this.pending.set(f.stream_seq, f);
      }
      this._drain();
      this.repairing = this.pending.size > 0;
      if (this.repairing && this.pending.size && !this.pending.has(this.streamSeq + 1)) {
        this.repairing = false;
        this._askSnapshot();
      }
    }
    // otherwise the server sends the missing frames or a snapshot as ordinary messages
  }
}
