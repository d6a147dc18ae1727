/**
 * The timeline: a canvas sequence diagram of the run, and what it is set to show.
 *
 * This module holds the view: whose knowledge it shows (`lens`), the focused message, the pinned
 * causal chain, the hovered and chosen marks, presenter size, follow mode, and the rules that
 * follow from them (which events are shown, which mark each gets, what is lit or dimmed, where a
 * mark goes). It puts together the parts that do the work: `draw.js` draws a frame, `input.js`
 * turns mouse, touch and keys into the view's actions, `clock.js` runs the animation clock, and
 * `layout.js` places lanes and time. The toolbar above it is `tools.js`.
 *
 * The observer's view (default) shows everything, an explained event (a timeout) marked by what it
 * really was once the run explains it; the partial view the manifest names (the producer's for the
 * classic protocol) shows what that node can know: observer-only events and marks hidden, the
 * lanes it does not see dimmed. A focused message dims every other one; a pinned causal chain
 * stays lit while the run plays. Presenter size scales text, glyphs and strokes; the canvas
 * backing store follows the device pixel ratio (browser zoom included), so it stays sharp.
 */

import { AnimationClock } from "./clock.js";
import { Renderer } from "./draw.js";
import { TimelineInput } from "./input.js";
import { Layout } from "./layout.js";

export { describeChanges } from "./draw.js";

export const PRESENTER_SCALE = 1.5;
const HIDDEN_LANE = 0.38;
const OBSERVER = "observer";
const NARROW = 0.5; // the share of a full lane a narrow lane (a hop's network) takes

export class Timeline {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {import("./state.js").RunModel} model  the run, with its manifest
   * @param {{reducedMotion: () => boolean, onHover?: Function, onSelectPacket?: Function,
   *          onFollowChange?: Function}} hooks
   */
  constructor(canvas, model, hooks) {
    this.canvas = canvas;
    this.model = model;
    this.hooks = hooks;
    this.layout = new Layout();
    this.follow = true;
    this.highlight = null;
    this.focusSeq = null;
    this.selected = null; // the last mark selected (kept after the canvas loses focus: to pin it)
    this.lens = OBSERVER;
    this.focusMsg = null;
    this.emphasisLanes = new Set(); // lanes a lesson step points at
    this.emphasisPackets = new Set(); // and packets
    this.pinSeq = null;
    this._pinned = null;
    this._pinnedAt = -1;
    this._hoverSeq = undefined;
    this.ui = 1;
    this.listeners = new Set();
    this.frameTimes = [];
    this.drawCount = 0;
    this.pixelScale = [1, 1];
    this.renderer = new Renderer(this);
    this.clock = new AnimationClock(model, {
      reducedMotion: () => hooks.reducedMotion(),
      onFrame: () => this._frame(),
    });
    this.input = new TimelineInput(this);
    // The backing store is sized in device pixels (exactly, where the browser reports them), so
    // lines stay sharp at any zoom; a change of devicePixelRatio alone (zoom, another screen)
    // resizes it too.
    const observer = new ResizeObserver((entries) => {
      const box = entries[0] && entries[0].devicePixelContentBoxSize;
      this.resize(box && box[0] ? [box[0].inlineSize, box[0].blockSize] : null);
    });
    try {
      observer.observe(canvas, { box: "device-pixel-content-box" });
    } catch {
      observer.observe(canvas);
    }
    this._watchDpr();
    this.resize();
  }

  /** The simulated time drawn (the run's clock, moved on between frames while it plays). */
  get displayNow() {
    return this.clock.now;
  }

  get manifest() {
    return this.model.manifest;
  }

  /** The marks of the last frame, for hit testing: [{x, y, r, seq, packet?, prio}]. */
  get hits() {
    return this.renderer.hits;
  }

  get glyphR() {
    return this.renderer.glyphR;
  }

  _watchDpr() {
    const dpr = window.devicePixelRatio || 1;
    const query = window.matchMedia(`(resolution: ${dpr}dppx)`);
    query.addEventListener("change", () => {
      this.resize();
      this._watchDpr();
    }, { once: true });
  }

  /** Size the canvas: CSS size for layout, device pixels for the backing store. */
  resize(devicePx = null) {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(200, rect.width);
    const h = Math.max(160, rect.height);
    // the exact device-pixel size where the browser reports one that agrees with the ratio
    // (it snaps fractional sizes), else CSS size x devicePixelRatio
    const exact = (px, css) => (
      px != null && Math.abs(px - css * dpr) <= 2 ? px : Math.round(css * dpr));
    const pw = exact(devicePx && rect.width >= 200 ? devicePx[0] : null, w);
    const ph = exact(devicePx && rect.height >= 160 ? devicePx[1] : null, h);
    if (this.canvas.width !== pw) this.canvas.width = pw;
    if (this.canvas.height !== ph) this.canvas.height = ph;
    this.dpr = dpr;
    this.pixelScale = [pw / w, ph / h];
    this.layout.setSize(w, h);
    this.invalidate();
  }

  /** Presenter size: text, glyphs and strokes `PRESENTER_SCALE` times larger. */
  setPresenter(on) {
    const ui = on ? PRESENTER_SCALE : 1;
    if (ui === this.ui) return;
    this.ui = ui;
    this.layout.setUi(ui);
    this._changed();
  }

  // ------------------------------------------------------- lens, focus, pin

  /** "observer" (everything, with hindsight) or the id of the manifest's lens (a node's view). */
  setLens(lens) {
    const partial = this.manifest.lens;
    const next = partial && lens === partial.id ? lens : OBSERVER;
    if (next === this.lens) return;
    this.lens = next;
    if (this.focusSeq != null && !this.shows(this.model.get(this.focusSeq))) {
      this.focusSeq = null;
      this.hover(null);
    }
    this._changed();
  }

  /** Dim every message but `msg` (null: none). */
  /** Lanes to point at (a lesson step's highlight): a soft band down each, its label marked. */
  setEmphasisLanes(lanes) {
    const next = new Set(Array.isArray(lanes) ? lanes.filter((l) => typeof l === "string") : []);
    if ([...next].join() === [...this.emphasisLanes].join()) return;
    this.emphasisLanes = next;
    this._changed();
  }

  /** Packets to point at (a lesson step's highlight): their arrows haloed. */
  setEmphasisPackets(ids) {
    const next = new Set(Array.isArray(ids) ? ids.filter((n) => Number.isInteger(n)) : []);
    if ([...next].join() === [...this.emphasisPackets].join()) return;
    this.emphasisPackets = next;
    this._changed();
  }

  setFocusMsg(msg) {
    const next = Number.isInteger(msg) && msg > 0 ? msg : null;
    if (next === this.focusMsg) return;
    this.focusMsg = next;
    this._changed();
  }

  /** Keep the causal chain of event `seq` lit while the run plays (null: unpin). */
  pin(seq) {
    const next = seq != null && this.model.get(seq) ? seq : null;
    if (next === this.pinSeq) return;
    this.pinSeq = next;
    this._pinned = null;
    this._changed();
  }

  clearFilters() {
    this.focusSeq = null;
    this.hover(null);
    this.pinSeq = null;
    this._pinned = null;
    this.focusMsg = null;
    this._changed();
  }

  /** Tell the toolbar and the text view that the lens, focus, pin, size or selection changed. */
  _changed() {
    this.invalidate();
    for (const fn of this.listeners) fn(this);
  }

  /** Whether the current view is the observer's (everything, with hindsight). */
  get observer() {
    return this.lens === OBSERVER;
  }

  /** Whether an event is shown under the current lens (a node's view has no hindsight). */
  shows(ev) {
    if (!ev) return false;
    return this.observer || !this.manifest.observerOnly(ev);
  }

  /** The event that explains `ev` (a timeout's `timeout_explained`), once the run has given it. */
  explanationOf(ev) {
    const h = this.manifest.hindsight;
    if (!ev || !h || ev.type !== h.explains) return null;
    for (const kid of this.model.children.get(ev.seq) || []) {
      const e = this.model.get(kid);
      if (e && e.type === h.event) return e;
    }
    return null;
  }

  /** The mark drawn for an event under the current lens (null: not drawn). */
  markKey(ev) {
    if (!this.shows(ev)) return null;
    const m = this.manifest;
    // a partial view skips the variants it cannot see (a false "done" reads as a real ack)
    const key = m.markOf(ev, this.observer);
    if (!key || !this.observer) return key;
    const h = m.hindsight;
    if (h && ev.type === h.explains) {
      const why = this.explanationOf(ev);
      const verdict = why && h.marks[why[h.field]];
      if (verdict && m.marks[verdict]) return verdict;
    }
    return key;
  }

  /** The chain lit now: the hovered one, else the pinned one (recomputed as the run grows). */
  chain() {
    if (this.highlight) return this.highlight;
    if (this.pinSeq == null) return null;
    if (!this._pinned || this._pinnedAt !== this.model.version) {
      this._pinned = this.model.chain(this.pinSeq);
      this._pinnedAt = this.model.version;
    }
    return this._pinned;
  }

  /** Whether a filter (hover, pin or focus) is dimming marks. */
  filtering(chain) {
    return Boolean(chain) || this.focusMsg != null;
  }

  litEvent(ev, chain) {
    if (chain) return chain.has(ev.seq);
    if (this.focusMsg != null) return ev.msg === this.focusMsg;
    return true;
  }

  litPacket(p, chain) {
    if (chain) return chain.has(p.sendSeq) || (p.endSeq != null && chain.has(p.endSeq));
    if (this.focusMsg != null) return p.msg === this.focusMsg;
    return true;
  }

  /** Alpha for marks on a lane: dimmed in a node's view when that node cannot see it. */
  laneAlpha(lane) {
    if (this.observer) return 1;
    const lens = this.manifest.lens;
    return lens && lens.lanes.has(lane) ? 1 : HIDDEN_LANE;
  }

  /**
   * Alpha for a packet's arrow: dimmed in a node's view unless that node sees every lane the
   * arrow crosses (null: any arrow).
   */
  wireAlpha(p) {
    if (this.observer) return 1;
    const lanes = this.layout.lanes;
    let i = p ? lanes.indexOf(p.fromLane) : 0;
    let j = p ? lanes.indexOf(p.toLane) : lanes.length - 1;
    if (i < 0 || j < 0) return HIDDEN_LANE;
    if (i > j) [i, j] = [j, i];
    for (let k = i; k <= j; k++) if (this.laneAlpha(lanes[k]) < 1) return HIDDEN_LANE;
    return 1;
  }

  /** The lane an event's mark is drawn on. */
  eventLane(ev) {
    return this.manifest.laneOf(ev.lane);
  }

  /** Where an event's mark goes (a lost packet's: on its arrow, where it was lost). */
  eventPoint(ev, key = this.markKey(ev) || this.manifest.markOf(ev)) {
    const { layout, model } = this;
    const m = this.manifest;
    if (m.lost.has(ev.type) && ev.packet != null) {
      const p = model.packets.get(ev.packet);
      if (p && p.dropT != null) return layout.dropPoint(p);
    }
    // offsets grow with presenter size but stay inside a narrow lane
    const room = Math.max(0.4, Math.min(1, (layout.widthOf(this.eventLane(ev)) / 2 - 8) / 50));
    const dx = (m.marks[key]?.offset || 0) * this.ui * room;
    return [layout.x(this.eventLane(ev)) + dx, layout.y(ev.t)];
  }

  // ------------------------------------------------------- the run, the clock, the viewport

  /** The model changed (a frame or snapshot arrived, or another manifest). */
  sync({ reset = false } = {}) {
    if (reset) {
      this.highlight = null;
      this.focusSeq = null;
      this._pinned = null;
      if (this.pinSeq != null && !this.model.get(this.pinSeq)) this.pinSeq = null;
      const lens = this.manifest.lens;
      if (!this.observer && !(lens && lens.id === this.lens)) this.lens = OBSERVER;
      this._changed();
    }
    this.clock.sync(reset);
    const narrow = this.manifest.lanes.filter((l) => l.narrow).map((l) => l.id);
    const shape = `${this.model.lanes.join()}|${narrow.join()}`;
    if (this._laneShape !== shape) {
      this._laneShape = shape;
      this.layout.setLanes(this.model.lanes, new Map(narrow.map((id) => [id, NARROW])));
      const names = this.model.lanes.map((lane) => this.manifest.laneLabel(lane)).join(", ");
      this.canvas.setAttribute("aria-label",
        `Timeline of the run. Lanes: ${names}; time flows down.`);
    }
    this.invalidate();
  }

  setFollow(on) {
    if (this.follow === on) return;
    this.follow = on;
    this.hooks.onFollowChange?.(on);
    this.invalidate();
  }

  zoom(factor, y = this.layout.height * 0.5) {
    this.layout.zoomAt(factor, y);
    this.invalidate();
  }

  invalidate() {
    this.clock.request();
  }

  /** Something is moving: a visible, playing run whose packets may be animated. */
  animating() {
    return this.clock.animating();
  }

  placeViewport() {
    const m = this.model;
    const end = Math.max(this.displayNow, m.lastT);
    if (this.follow) this.layout.reveal(this.displayNow, 0.72);
    this.layout.clampTop(Math.min(0, m.firstT), end);
    this.hooks.onViewport?.(this); // (columns side by side keep one viewport)
  }

  /** One animation frame: place the viewport, draw, time the drawing. */
  _frame() {
    this.placeViewport();
    const start = performance.now();
    this.draw();
    this.frameTimes.push(performance.now() - start);
    if (this.frameTimes.length > 240) this.frameTimes.shift();
  }

  draw() {
    const lod = this.renderer.draw();
    this.drawCount++;
    const data = this.canvas.dataset;
    data.lastSeq = String(this.model.lastSeq);
    data.events = String(this.model.events.length);
    data.lod = lod ? "1" : "0";
    data.lens = this.lens;
  }

  // ---------------------------------------------------------------- marks, hover, choice

  /** The mark nearest to (x, y) in canvas pixels, preferring packets in flight. */
  hitTest(x, y) {
    let best = null;
    let bestScore = Infinity;
    for (const h of this.hits) {
      const d = Math.hypot(h.x - x, h.y - y);
      if (d > h.r) continue;
      const score = d - h.prio * 6;
      if (score < bestScore) {
        best = h;
        bestScore = score;
      }
    }
    return best;
  }

  /** Client coordinates of a packet in flight (for tests and the keyboard menu). */
  packetClientPoint(id) {
    const h = this.hits.find((hit) => hit.packet === id);
    if (!h) return null;
    const rect = this.canvas.getBoundingClientRect();
    return { x: rect.left + h.x, y: rect.top + h.y };
  }

  setHighlight(seq) {
    this.highlight = seq == null ? null : this.model.chain(seq);
    this.invalidate();
  }

  /** Hover (or keyboard-focus) a mark: light its chain and show its details (null: none). */
  hover(hit, x, y) {
    const seq = hit ? hit.seq : null;
    if (seq === this._hoverSeq) return;
    this._hoverSeq = seq;
    this.setHighlight(seq);
    this.canvas.classList.toggle("over-packet", Boolean(hit && hit.packet != null));
    this.hooks.onHover?.(seq, x, y);
  }

  /** Remember the mark chosen (click or keyboard): the one "Pin chain" and "f" act on. */
  select(seq) {
    if (seq === this.selected) return;
    this.selected = seq;
    this._changed();
  }

  /** Focus one event's mark; scroll it into view (at `at` of the height) if it is near an edge. */
  focusMark(seq, at = null) {
    const ev = this.model.get(seq);
    if (!ev) return;
    this.focusSeq = seq;
    this.select(seq);
    const [t0, t1] = this.layout.visible();
    const edge = (t1 - t0) * 0.1;
    if (at != null || ev.t < t0 + edge || ev.t > t1 - edge) {
      this.setFollow(false);
      this.layout.reveal(ev.t, at ?? 0.5);
    }
    this.placeViewport();
    const [x, y] = this.eventPoint(ev);
    this._hoverSeq = undefined;
    this.hover({ seq, x, y }, x, y);
    this.invalidate();
  }

  /** The marks of the last frame: seq, mark drawn, lit (not dimmed by a filter), unseen lane. */
  drawnMarks() {
    return [...this.renderer.drawn].map(([seq, d]) => (
      { seq, msg: this.model.get(seq)?.msg ?? null, ...d }));
  }

  /** What the renderer is set to and drew at (lanes in order among it), for tests and the toolbar. */
  state() {
    return {
      lens: this.lens, lanes: [...this.layout.lanes], focusMsg: this.focusMsg, pinSeq: this.pinSeq,
      emphasisLanes: [...this.emphasisLanes], emphasisPackets: [...this.emphasisPackets],
      laneX: Object.fromEntries(this.layout.lanes.map((l) => [l, this.layout.x(l)])),
      laneWidth: this.layout.laneWidth,
      selected: this.selected,
      ui: this.ui, glyphR: this.glyphR, dpr: this.dpr, cssWidth: this.layout.width,
      pixelWidth: this.canvas.width, pixelScale: [...this.pixelScale],
    };
  }

  /** Frame-time statistics of the last draws (ms), for the benchmark. */
  stats() {
    const s = [...this.frameTimes].sort((a, b) => a - b);
    const q = (f) => (s.length ? s[Math.min(s.length - 1, Math.floor(f * s.length))] : 0);
    return { n: s.length, p50: q(0.5), p95: q(0.95), max: s.length ? s[s.length - 1] : 0 };
  }
}
