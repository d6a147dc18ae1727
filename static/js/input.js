/**
 * The timeline's input: mouse, touch and keyboard on its canvas, turned into the timeline's
 * actions (hover a mark, choose one, open a packet's menu, scroll, zoom, follow, focus, pin).
 *
 * Wheel scrolls (Ctrl or ⌘ + wheel zooms); a drag scrolls and a pinch zooms; a click (a press that
 * moved at most 4 px) chooses a mark or opens the menu of a packet in flight. On the focused
 * canvas: Up/Down move from mark to mark (only marks the current view shows), Enter opens a
 * focused packet's menu, Escape clears the chosen mark, the pin and the focus, F focuses the
 * chosen mark's message, P pins its chain, Page Up/Down scroll, Home goes to the start, End
 * follows the run, +/- zoom.
 */

export class TimelineInput {
  /** @param {import("./timeline.js").Timeline} timeline */
  constructor(timeline) {
    this.timeline = timeline;
    this.canvas = timeline.canvas;
    this._pointers = new Map();
    this._bind();
  }

  _local(e) {
    const rect = this.canvas.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  }

  _bind() {
    const c = this.canvas;
    const tl = this.timeline;
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [, y] = this._local(e);
      if (e.ctrlKey || e.metaKey) {
        tl.zoom(Math.exp(-e.deltaY * 0.002), y);
      } else {
        tl.setFollow(false);
        tl.layout.scrollBy(e.deltaY);
        tl.invalidate();
      }
    }, { passive: false });
    c.addEventListener("pointerdown", (e) => {
      c.setPointerCapture(e.pointerId);
      this._pointers.set(e.pointerId, { x: e.clientX, y: e.clientY, x0: e.clientX, y0: e.clientY });
    });
    c.addEventListener("pointermove", (e) => {
      const ptr = this._pointers.get(e.pointerId);
      if (!ptr) {
        const [x, y] = this._local(e);
        tl.hover(tl.hitTest(x, y), x, y);
        return;
      }
      if (this._pointers.size === 2) {
        const [a, b] = [...this._pointers.values()];
        const before = Math.hypot(a.x - b.x, a.y - b.y);
        ptr.x = e.clientX;
        ptr.y = e.clientY;
        const after = Math.hypot(a.x - b.x, a.y - b.y);
        if (before > 10) tl.zoom(after / before, this._local(e)[1]);
        return;
      }
      const dy = e.clientY - ptr.y;
      ptr.x = e.clientX;
      ptr.y = e.clientY;
      if (Math.abs(e.clientY - ptr.y0) > 4) {
        tl.setFollow(false);
        tl.layout.scrollBy(-dy);
        tl.invalidate();
      }
    });
    const end = (e) => {
      const ptr = this._pointers.get(e.pointerId);
      this._pointers.delete(e.pointerId);
      if (!ptr || e.type === "pointercancel") return;
      const moved = Math.hypot(e.clientX - ptr.x0, e.clientY - ptr.y0);
      if (moved <= 4 && this._pointers.size === 0) {
        const [x, y] = this._local(e);
        this._click(tl.hitTest(x, y), e.clientX, e.clientY);
      }
    };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener("pointerleave", () => {
      if (tl.focusSeq == null && !this._pointers.size) tl.hover(null);
    });
    c.addEventListener("keydown", (e) => this._key(e));
    c.addEventListener("blur", () => {
      tl.focusSeq = null;
      tl.hover(null);
    });
  }

  _click(hit, clientX, clientY) {
    const tl = this.timeline;
    if (!hit) return;
    if (hit.packet != null) {
      const p = tl.model.packets.get(hit.packet);
      if (p && !p.fate) tl.hooks.onSelectPacket?.(p, clientX, clientY);
      return;
    }
    tl.focusSeq = hit.seq;
    tl.select(hit.seq);
    tl.hover(null);
    tl.hover(hit, hit.x, hit.y);
  }

  /** The next event in `dir` (+1 / -1) from `seq` that the current view shows. */
  _nextShown(seq, dir) {
    const tl = this.timeline;
    const m = tl.model;
    for (let s = seq; s >= m.firstSeq && s <= m.lastSeq; s += dir) {
      if (tl.shows(m.get(s))) return s;
    }
    return null;
  }

  _firstVisibleSeq(down) {
    const tl = this.timeline;
    const [t0, t1] = tl.layout.visible();
    const [lo, hi] = tl.model.eventRange(t0, t1);
    const ev = tl.model.events[down ? lo : Math.max(lo, hi - 1)] || tl.model.events.at(-1);
    return ev.seq;
  }

  /** Keyboard on the focused canvas: browse marks, scroll, zoom, follow, open the packet menu. */
  _key(e) {
    const tl = this.timeline;
    const m = tl.model;
    const k = e.key;
    if (k === "ArrowDown" || k === "ArrowUp") {
      e.preventDefault();
      if (!m.events.length) return;
      const dir = k === "ArrowDown" ? 1 : -1;
      let seq = tl.focusSeq ?? this._firstVisibleSeq(dir > 0);
      if (tl.focusSeq != null) seq += dir;
      seq = Math.min(m.lastSeq, Math.max(m.firstSeq, seq));
      const shown = this._nextShown(seq, dir) ?? this._nextShown(seq, -dir);
      if (shown != null) tl.focusMark(shown);
    } else if (k === "Enter" && tl.focusSeq != null) {
      const ev = m.get(tl.focusSeq);
      const p = ev && ev.packet != null ? m.packets.get(ev.packet) : null;
      if (p && !p.fate) {
        e.preventDefault();
        const pt = tl.packetClientPoint(p.id);
        const rect = this.canvas.getBoundingClientRect();
        tl.hooks.onSelectPacket?.(p, pt ? pt.x : rect.left + 40, pt ? pt.y : rect.top + 40);
      }
    } else if (k === "Escape") {
      // clears the chosen mark, a pinned chain and a focused message at once
      tl.clearFilters();
    } else if ((k === "f" || k === "F") && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const ev = m.get(tl.focusSeq ?? tl.selected);
      if (ev && ev.msg != null) tl.setFocusMsg(tl.focusMsg === ev.msg ? null : ev.msg);
    } else if ((k === "p" || k === "P") && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const seq = tl.focusSeq ?? tl.selected;
      if (tl.pinSeq != null && (seq == null || seq === tl.pinSeq)) tl.pin(null);
      else if (seq != null) tl.pin(seq);
    } else if (k === "PageDown" || k === "PageUp") {
      e.preventDefault();
      tl.setFollow(false);
      tl.layout.scrollBy((k === "PageDown" ? 0.8 : -0.8) * tl.layout.height);
      tl.invalidate();
    } else if (k === "Home") {
      e.preventDefault();
      tl.setFollow(false);
      tl.layout.top = m.firstT - 100;
      tl.invalidate();
    } else if (k === "End") {
      e.preventDefault();
      tl.setFollow(true);
    } else if (k === "+" || k === "=") {
      tl.zoom(1.25);
    } else if (k === "-") {
      tl.zoom(0.8);
    }
  }
}
