/**
 * The event store: what the page knows of one run, derived only from the server's events and
 * shaped by the protocol's manifest, knowing no node, lane or event type by name.
 *
 * Events are kept by `seq` (a contiguous window, trimmed from the front to bound memory) with the
 * `cause` index that causal chains walk. From them the store derives what every protocol has:
 * packets (one arrow each, from the event types the manifest says put a packet on the wire to
 * those that end its flight), the lanes in use, crossing arrows (reordering), node downtimes,
 * setting changes, and a count per event type. What only one protocol derives (a ledger, a
 * reorder buffer's story) is left to `views`, given by the subclass (state.js). No DOM, no
 * timers: `applySnapshot`, `mergeSnapshot`, `prependHistory` and `applyFrame` are the only ways in.
 */

import { Manifest } from "./manifest.js";

export const MAX_EVENTS = 200_000;
const TRIM_CHUNK = 20_000;
const CROSS_LOOKBACK = 64;

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

export class EventStore {
  /** @param {object|Manifest|null} manifest  the protocol's manifest (see manifest.js) */
  constructor(manifest = null) {
    this.version = 0;
    this.manifest = manifest instanceof Manifest ? manifest : new Manifest(manifest);
    this.clear();
  }

  /** What a protocol derives beyond the store ({add(ev), trim(firstT)}), or null. */
  makeViews() {
    return null;
  }

  /** Take another manifest (another protocol): what is derived from the events is rebuilt. */
  setManifest(manifest) {
    this.manifest = manifest instanceof Manifest ? manifest : new Manifest(manifest);
    this._rebuild(this.events.slice());
  }

  clear() {
    this.events = [];
    this.firstSeq = 1;
    this.children = new Map();
    this.packets = new Map();
    this.packetList = [];
    this.lanesSeen = new Set(this.manifest.baseLanes());
    this.lanes = this.manifest.laneOrder(this.lanesSeen);
    this.configLines = [];
    this.downtimes = [];
    this.counts = {};
    this.maxFlight = 0;
    this.maxLink = 0; // the longest span from a cause to an event joined to it by a line
    this.recentArrived = [];
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
    this.views = this.makeViews();
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
   * Whether `snap` continues what the store holds: the same epoch, and its events reach back to
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
    this._rebuild(older.concat(this.events));
    return older.length;
  }

  /** Derive everything again from `events`, keeping the status the server last gave. */
  _rebuild(events) {
    const keep = {
      epoch: this.epoch, streamSeq: this.streamSeq, config: this.config, speed: this.speed,
      summary: this.summary, view: this.view, now: this.now, playing: this.playing,
      done: this.done, gaps: this.gaps, repeats: this.repeats, source: this.source,
    };
    this.clear();
    this.addEvents(events);
    Object.assign(this, keep);
    this._adoptInFlight(this.view?.in_flight);
    this.version++;
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
    const m = this.manifest;
    for (const f of list) {
      if (!f || this.packets.has(f.packet)) continue;
      const ends = [...this.lanes];
      const from = f.from ?? ends[0];
      const to = f.to ?? ends.at(-1);
      const p = {
        id: f.packet, msg: f.msg, kind: f.kind ?? m.packetKinds[0] ?? null, from, to,
        fromLane: m.laneOf(from), toLane: m.laneOf(to), attempt: f.attempt ?? 1,
        type: m.startTypeOf(f), sendSeq: null, sendT: f.sent_t ?? this.now, eta: f.eta ?? this.now,
        endSeq: null, endT: null, fate: null, crossed: false, dropT: null,
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
    this.views?.trim?.(t0);
  }

  _seeLane(lane) {
    if (lane == null || this.lanesSeen.has(lane)) return;
    this.lanesSeen.add(lane);
    this.lanes = this.manifest.laneOrder(this.lanesSeen);
  }

  _derive(ev) {
    const m = this.manifest;
    const meta = m.meta(ev.type);
    this.counts[ev.type] = (this.counts[ev.type] || 0) + 1;
    if (ev.duplicate) {
      const key = `${ev.type}_duplicate`;
      this.counts[key] = (this.counts[key] || 0) + 1;
    }
    if (ev.cause != null) {
      const kids = this.children.get(ev.cause);
      if (kids) kids.push(ev.seq);
      else this.children.set(ev.cause, [ev.seq]);
      if (meta.link) {
        const cause = this.get(ev.cause);
        if (cause) this.maxLink = Math.max(this.maxLink, ev.t - cause.t);
      }
    }
    // a line across all lanes is on none of them
    if (!meta.line && ev.lane != null) this._seeLane(m.laneOf(ev.lane));
    if (ev.from != null) this._seeLane(m.laneOf(ev.from));
    if (ev.to != null) this._seeLane(m.laneOf(ev.to));
    if (ev.packet != null) {
      if (m.starts.has(ev.type)) this._packetStart(ev);
      else if (m.ends.has(ev.type)) this._packetEnd(ev, meta);
    }
    if (meta.line === "config") {
      this.configLines.push(ev);
      for (const [name, pair] of Object.entries(ev.changes || {})) {
        if (Array.isArray(pair)) this.config[name] = pair[1];
      }
    }
    if (meta.downtime === "start") {
      this.downtimes.push({ node: ev.node || ev.lane, from: ev.t, to: null, seq: ev.seq });
    } else if (meta.downtime === "end") {
      const node = ev.node || ev.lane;
      const open = this.downtimes.findLast((d) => d.node === node && d.to == null);
      if (open) open.to = ev.t;
    }
    this.views?.add(ev);
  }

  _packetStart(ev) {
    const m = this.manifest;
    const from = ev.from ?? ev.lane;
    const to = ev.to ?? from;
    const p = {
      id: ev.packet, msg: ev.msg, kind: ev.kind ?? m.packetKinds[0] ?? null, from, to,
      fromLane: m.laneOf(from), toLane: m.laneOf(to), attempt: ev.attempt, type: ev.type,
      sendSeq: ev.seq, sendT: ev.t, eta: typeof ev.eta === "number" ? ev.eta : ev.t, endSeq: null,
      endT: null, fate: null, crossed: false, dropT: null,
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

  _packetEnd(ev, meta) {
    const p = this.packets.get(ev.packet);
    if (!p) return;
    p.endSeq = ev.seq;
    p.endT = ev.t;
    p.fate = meta.lost ? "dropped" : "arrived";
    if (p.fate === "dropped") p.dropT = ev.t;
    this.maxFlight = Math.max(this.maxFlight, ev.t - p.sendT);
    if (meta.crossing && !meta.lost) this._crossing(p, Boolean(ev.out_of_order));
  }

  /**
   * Reordering: arrows cross when a packet sent later arrived earlier (mark both), and a message
   * the server says arrived after a later one (`out_of_order`, e.g. a retry overtaken by newer
   * messages sent at the same instant) is marked even when no arrow crosses it.
   */
  _crossing(p, outOfOrder) {
    const recent = this.recentArrived;
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

  /** Whether `node` is down now: the run's view says so, else its last downtime is open. */
  crashed(node) {
    const said = this.view?.nodes?.[node];
    if (said && typeof said.crashed === "boolean") return said.crashed;
    const legacy = this.view?.[node];
    if (legacy && typeof legacy.crashed === "boolean") return legacy.crashed;
    return this.downtimes.some((d) => d.node === node && d.to == null);
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
