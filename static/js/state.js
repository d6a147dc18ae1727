/**
 * The client model of one run: what the page knows, derived only from the server's events.
 *
 * Events are kept by `seq` (a contiguous window, trimmed from the front to bound memory); from
 * them the model derives packets (one arrow each), a per-message ledger, the reorder-buffer story,
 * crash downtimes, setting changes and the causal links used to highlight a chain. No DOM, no
 * timers: `applySnapshot`, `mergeSnapshot` and `applyFrame` are the only ways in.
 */

export const MAX_EVENTS = 200_000;
const TRIM_CHUNK = 20_000;
const CROSS_LOOKBACK = 64;
const PACKET_STARTS = new Set(["send", "retry", "ack_send", "nack", "net_duplicate"]);
const PACKET_ENDS = new Set(["deliver", "drop", "ack_deliver", "ack_drop"]);
export const BASE_LANES = ["producer", "network", "consumer", "app"];

/** Lanes in drawing order: a broker sits between the network and the consumer. */
export function laneOrder(seen) {
  const order = ["producer", "network", "broker", "consumer", "app"];
  return order.filter((lane) => BASE_LANES.includes(lane) || seen.has(lane));
}

/** Index of the first element of the sorted `arr` whose key(item) >= value. */
export function lowerBound(arr, value, key) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(arr[mid]) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One message's row: transmissions sent, data packets lost, `duplicated` = extra copies of its
 * data packets the network made (each copy counted once, not again when it is delivered), ...
 */
function newLedgerRow(msg) {
  return {
    msg, seqno: null, sent: 0, lost: 0, duplicated: 0, reordered: false,
    processed: 0, discarded: 0, acked: false, gaveUp: false, deadLettered: false, falseDone: false,
    lastT: 0,
  };
}

export class RunModel {
  constructor() {
    this.version = 0;
    this.clear();
  }

  clear() {
    this.events = [];
    this.firstSeq = 1;
    this.children = new Map();
    this.packets = new Map();
    this.packetList = [];
    this.messages = new Map();
    this.lanesSeen = new Set(BASE_LANES);
    this.lanes = laneOrder(this.lanesSeen);
    this.configLines = [];
    this.downtimes = [];
    this.reorder = { held: [], released: [], skipped: [], stale: [] };
    this.counts = {};
    this.maxFlight = 0;
    this.maxDeliveredMsg = 0;
    this.recentDelivered = [];
    this.crossings = 0;
    this.gaps = 0;
    this.repeats = 0;
    this.summary = {};
    this.view = null;
    this.config = {};
    this.now = 0;
    this.playing = false;
    this.done = false;
    this.speed = 1;
    this.epoch = null;
    this.streamSeq = 0;
    this.source = "live"; // or "trace": a trace file replayed read-only
    this.version++;
  }

  get lastSeq() {
    return this.events.length ? this.events[this.events.length - 1].seq : this.firstSeq - 1;
  }

  get lastT() {
    return this.events.length ? this.events[this.events.length - 1].t : 0;
  }

  get firstT() {
    return this.events.length ? this.events[0].t : 0;
  }

  get(seq) {
    if (seq == null) return null;
    const i = seq - this.firstSeq;
    return i >= 0 && i < this.events.length ? this.events[i] : null;
  }

  /** Replace everything with a snapshot (a new run, a step back, a reload). Returns its events. */
  applySnapshot(snap) {
    const previous = this.config;
    this.clear();
    this.epoch = snap.epoch ?? null;
    this.streamSeq = snap.stream_seq ?? 0;
    this.config = { ...(snap.config || previous) };
    this.speed = snap.speed ?? this.speed;
    this._applyStatus(snap);
    const events = Array.isArray(snap.events) ? snap.events : [];
    return this.addEvents(events);
  }

  /**
   * Whether `snap` continues what the model holds: the same epoch, and its events reach back to
   * (or overlap) the last one held. Such a snapshot is merged, never replacing older history.
   */
  canMerge(snap) {
    if (!snap || snap.epoch == null || snap.epoch !== this.epoch || !this.events.length) return false;
    const events = Array.isArray(snap.events) ? snap.events : [];
    const last = typeof snap.seq === "number" ? snap.seq : (events.at(-1)?.seq ?? 0);
    if (last < this.lastSeq) return false;
    return events.length ? events[0].seq <= this.lastSeq + 1 : last === this.lastSeq;
  }

  /** Take a snapshot of the epoch held (see canMerge): add its newer events, adopt its state. */
  mergeSnapshot(snap) {
    this.streamSeq = snap.stream_seq ?? this.streamSeq;
    if (snap.config) this.config = { ...snap.config };
    if (snap.speed != null) this.speed = snap.speed;
    const held = this.lastSeq;
    const events = Array.isArray(snap.events) ? snap.events : [];
    const added = this.addEvents(events.filter((ev) => ev && ev.seq > held));
    this._applyStatus(snap);
    return added;
  }

  /**
   * Put the epoch's older events in front of those held (its history, fetched after a snapshot
   * that did not reach back to event 1). Only events before the first one held are taken, and
   * only when they join it without a hole; the derived views are then rebuilt in seq order, while
   * the status (settings, counters, state, clock, stream position) stays as the server last said.
   * Returns how many events were added.
   */
  prependHistory(events) {
    if (!this.events.length || !Array.isArray(events)) return 0;
    const first = this.firstSeq;
    const older = events.filter((ev) => ev && typeof ev.seq === "number" && ev.seq < first);
    if (!older.length || older.at(-1).seq !== first - 1) return 0;
    if (older.some((ev, i) => ev.seq !== older[0].seq + i)) return 0;
    const keep = {
      epoch: this.epoch, streamSeq: this.streamSeq, config: this.config, speed: this.speed,
      summary: this.summary, view: this.view, now: this.now, playing: this.playing,
      done: this.done, gaps: this.gaps, repeats: this.repeats,
    };
    const all = older.concat(this.events);
    this.clear();
    this.addEvents(all);
    Object.assign(this, keep);
    this._adoptInFlight(this.view?.in_flight);
    this.version++;
    return older.length;
  }

  /** Append one in-order frame. Returns the events that were new. */
  applyFrame(frame) {
    this.streamSeq = frame.stream_seq ?? this.streamSeq;
    if (frame.config) this.config = { ...frame.config };
    if (frame.speed != null) this.speed = frame.speed;
    const added = this.addEvents(Array.isArray(frame.events) ? frame.events : []);
    this._applyStatus(frame);
    return added;
  }

  _applyStatus(msg) {
    if (msg.summary) this.summary = msg.summary;
    if (msg.state) {
      this.view = msg.state;
      this._adoptInFlight(msg.state.in_flight);
    }
    if (typeof msg.now === "number") this.now = msg.now;
    if (typeof msg.playing === "boolean") this.playing = msg.playing;
    if (typeof msg.done === "boolean") this.done = msg.done;
    this.version++;
  }

  /** Packets in flight that were sent before our window (after a trimmed snapshot). */
  _adoptInFlight(list) {
    if (!Array.isArray(list)) return;
    for (const f of list) {
      if (this.packets.has(f.packet)) continue;
      const p = {
        id: f.packet, msg: f.msg, kind: f.kind || "data", from: f.from || "producer",
        to: f.to || "consumer", attempt: f.attempt ?? 1, type: (f.attempt ?? 1) > 1 ? "retry" : "send",
        sendSeq: null, sendT: f.sent_t ?? this.now, eta: f.eta ?? this.now, endSeq: null,
        endT: null, fate: null, crossed: false, dropT: null,
      };
      this.packets.set(p.id, p);
      const i = lowerBound(this.packetList, p.sendT + 1e-9, (q) => q.sendT);
      this.packetList.splice(i, 0, p);
    }
  }

  addEvents(events) {
    const added = [];
    for (const ev of events) {
      if (!ev || typeof ev.seq !== "number") continue;
      if (this.events.length) {
        const last = this.lastSeq;
        if (ev.seq <= last) {
          this.repeats++;
          continue;
        }
        if (ev.seq !== last + 1) this.gaps++;
      } else {
        this.firstSeq = ev.seq;
      }
      // Keep the window contiguous even if a gap slipped through: index by position.
      if (this.events.length && ev.seq !== this.lastSeq + 1) {
        this._restartWindow(ev.seq);
      }
      this.events.push(ev);
      this._derive(ev);
      added.push(ev);
    }
    if (this.events.length > MAX_EVENTS) this._trim(TRIM_CHUNK);
    if (added.length) this.version++;
    return added;
  }

  _restartWindow(seq) {
    // A gap means the window is no longer contiguous; restart it at `seq` (keeps lookups exact).
    this.events = [];
    this.firstSeq = seq;
    this.children = new Map();
  }

  _trim(n) {
    const removed = this.events.splice(0, n);
    this.firstSeq += removed.length;
    for (const ev of removed) this.children.delete(ev.seq);
    let cut = 0;
    while (cut < this.packetList.length && this.packetList[cut].sendSeq != null
      && this.packetList[cut].sendSeq < this.firstSeq && this.packetList[cut].fate) cut++;
    for (const p of this.packetList.splice(0, cut)) this.packets.delete(p.id);
    const t0 = this.firstT;
    this.configLines = this.configLines.filter((ev) => ev.t >= t0);
    this.downtimes = this.downtimes.filter((d) => d.to == null || d.to >= t0);
    if (this.messages.size > 50_000) {
      const keep = [...this.messages.entries()].slice(-25_000);
      this.messages = new Map(keep);
    }
  }

  _row(msg) {
    let row = this.messages.get(msg);
    if (!row) {
      row = newLedgerRow(msg);
      this.messages.set(msg, row);
    }
    return row;
  }

  _derive(ev) {
    this.counts[ev.type] = (this.counts[ev.type] || 0) + 1;
    if (ev.duplicate && (ev.type === "deliver" || ev.type === "process")) {
      const key = `${ev.type}_duplicate`;
      this.counts[key] = (this.counts[key] || 0) + 1;
    }
    if (ev.cause != null) {
      const kids = this.children.get(ev.cause);
      if (kids) kids.push(ev.seq);
      else this.children.set(ev.cause, [ev.seq]);
    }
    if (ev.lane && !this.lanesSeen.has(ev.lane) && ev.lane !== "all") {
      this.lanesSeen.add(ev.lane);
      this.lanes = laneOrder(this.lanesSeen);
    }
    for (const lane of [ev.from, ev.to]) {
      if (lane && !this.lanesSeen.has(lane)) {
        this.lanesSeen.add(lane);
        this.lanes = laneOrder(this.lanesSeen);
      }
    }
    if (PACKET_STARTS.has(ev.type) && ev.packet != null) this._packetStart(ev);
    if (PACKET_ENDS.has(ev.type) && ev.packet != null) this._packetEnd(ev);
    this._ledger(ev);
    switch (ev.type) {
      case "config_change":
        this.configLines.push(ev);
        for (const [name, pair] of Object.entries(ev.changes || {})) {
          if (Array.isArray(pair)) this.config[name] = pair[1];
        }
        break;
      case "crash":
        this.downtimes.push({ node: ev.node || ev.lane, from: ev.t, to: null, seq: ev.seq });
        break;
      case "restart": {
        const node = ev.node || ev.lane;
        const open = this.downtimes.findLast((d) => d.node === node && d.to == null);
        if (open) open.to = ev.t;
        break;
      }
      case "buffer":
      case "release":
      case "gap_skip":
      case "stale_drop":
        this._reorder(ev);
        break;
      default:
        break;
    }
  }

  _packetStart(ev) {
    const from = ev.from || (ev.type === "ack_send" || ev.type === "nack" ? "consumer" : "producer");
    const to = ev.to || (from === "consumer" ? "producer" : "consumer");
    const p = {
      id: ev.packet, msg: ev.msg, kind: ev.kind || (ev.type === "nack" ? "nack" : ev.type === "ack_send" ? "ack" : "data"),
      from, to, attempt: ev.attempt, type: ev.type, sendSeq: ev.seq, sendT: ev.t,
      eta: typeof ev.eta === "number" ? ev.eta : ev.t, endSeq: null, endT: null, fate: null,
      crossed: false, dropT: null,
    };
    const old = this.packets.get(p.id);
    if (old) {
      // adopted from a snapshot's in-flight list: replace it
      const i = this.packetList.indexOf(old);
      if (i >= 0) this.packetList.splice(i, 1);
    }
    this.packets.set(p.id, p);
    this.packetList.push(p);
    this.maxFlight = Math.max(this.maxFlight, p.eta - p.sendT);
  }

  _packetEnd(ev) {
    const p = this.packets.get(ev.packet);
    if (!p) return;
    p.endSeq = ev.seq;
    p.endT = ev.t;
    p.fate = ev.type === "drop" || ev.type === "ack_drop" ? "dropped" : "arrived";
    if (p.fate === "dropped") p.dropT = ev.t;
    this.maxFlight = Math.max(this.maxFlight, ev.t - p.sendT);
    if (ev.type === "deliver" && p.kind === "data") this._crossing(p, Boolean(ev.out_of_order));
  }

  /**
   * Reordering: arrows cross when a packet sent later arrived earlier (mark both), and a message
   * the server says arrived after a later one (`out_of_order`, e.g. a retry overtaken by newer
   * messages sent at the same instant) is marked even when no arrow crosses it.
   */
  _crossing(p, outOfOrder) {
    const recent = this.recentDelivered;
    let crossed = false;
    for (let i = recent.length - 1; i >= 0; i--) {
      const q = recent[i];
      if (q.sendT > p.sendT && q.from === p.from) {
        q.crossed = true;
        crossed = true;
      }
    }
    if (crossed || outOfOrder) {
      p.crossed = true;
      this.crossings++;
    }
    recent.push(p);
    if (recent.length > CROSS_LOOKBACK) recent.shift();
  }

  _ledger(ev) {
    if (ev.msg == null) return;
    const row = this._row(ev.msg);
    row.lastT = ev.t;
    if (ev.seqno != null) row.seqno = ev.seqno;
    switch (ev.type) {
      case "send":
      case "retry":
        row.sent++;
        break;
      case "drop":
        if (!ev.kind || ev.kind === "data") row.lost++;
        break;
      case "net_duplicate":
        if (!ev.kind || ev.kind === "data") row.duplicated++;
        break;
      case "deliver":
        // a copy's delivery is not a second copy: `duplicated` counts net_duplicate events only
        if (!ev.duplicate) {
          if (this.maxDeliveredMsg > ev.msg) row.reordered = true;
          this.maxDeliveredMsg = Math.max(this.maxDeliveredMsg, ev.msg);
        }
        break;
      case "buffer":
        row.reordered = true;
        break;
      case "process":
        row.processed++;
        break;
      case "dedup_discard":
        row.discarded++;
        break;
      case "ack_deliver":
        if (ev.kind !== "nack") row.acked = true;
        if (ev.false_done) row.falseDone = true;
        break;
      case "give_up":
        row.gaveUp = true;
        break;
      case "dead_letter":
        row.deadLettered = true;
        break;
      default:
        break;
    }
  }

  _reorder(ev) {
    const r = this.reorder;
    if (Array.isArray(ev.held)) r.held = ev.held.slice();
    if (ev.type === "release" && ev.seqno != null) {
      r.released.push(ev.seqno);
      if (r.released.length > 24) r.released.shift();
    }
    if (ev.type === "gap_skip" && Array.isArray(ev.skipped)) {
      r.skipped.push(...ev.skipped);
      if (r.skipped.length > 48) r.skipped.splice(0, r.skipped.length - 48);
    }
    if (ev.type === "stale_drop" && ev.seqno != null) {
      r.stale.push(ev.seqno);
      if (r.stale.length > 24) r.stale.shift();
    }
  }

  /** Index range [lo, hi) of events with t in [t0, t1]. */
  eventRange(t0, t1) {
    const key = (e) => e.t;
    const lo = lowerBound(this.events, t0, key);
    const hi = lowerBound(this.events, t1 + 1e-9, key);
    return [lo, hi];
  }

  /** Packets whose arrow may be visible between t0 and t1. */
  *packetsBetween(t0, t1, now) {
    const list = this.packetList;
    let i = lowerBound(list, t1 + 1e-9, (p) => p.sendT) - 1;
    const earliest = t0 - this.maxFlight - 1;
    for (; i >= 0; i--) {
      const p = list[i];
      if (p.sendT < earliest) break;
      const end = p.fate ? p.endT : Math.max(p.eta, now);
      if (end >= t0) yield p;
    }
  }

  /** Packets still on the wire. */
  inFlight() {
    const out = [];
    for (let i = this.packetList.length - 1; i >= 0; i--) {
      const p = this.packetList[i];
      if (!p.fate) out.push(p);
      if (this.now - p.sendT > this.maxFlight + 1 && out.length > 200) break;
    }
    return out.reverse();
  }

  /**
   * The causal chain of an event: walk `cause` back to the root, then everything that root set
   * off (send -> drop -> timeout -> retry -> deliver -> duplicate ...). Bounded.
   */
  chain(seq, limit = 400) {
    const out = new Set();
    let root = this.get(seq);
    if (!root) return out;
    for (let guard = 0; guard < limit && root.cause != null; guard++) {
      const parent = this.get(root.cause);
      if (!parent) break;
      root = parent;
    }
    const queue = [root.seq];
    while (queue.length && out.size < limit) {
      const s = queue.shift();
      if (out.has(s)) continue;
      out.add(s);
      for (const k of this.children.get(s) || []) queue.push(k);
    }
    out.add(seq);
    return out;
  }

  /** Events of the run, newest last, at most n. */
  recent(n) {
    return this.events.slice(Math.max(0, this.events.length - n));
  }
}
