/**
 * Glyphs: one mark per kind of happening, told apart by shape first, then by fill, then by colour.
 *
 * Every glyph is one row of GLYPH_TABLE: a `shape` (the figure: circle, square, stopwatch, ...),
 * a `fill` (how the figure is filled or what is added to it: solid, outline, an inner sign, a
 * strike, a second copy) and one `color`. No two glyphs share both shape and fill, and glyphs that
 * share a shape have colours that stay apart under deuteranopia and protanopia (a browser test
 * checks both). Drawing is table-driven: SHAPES builds a figure's path, FILLS paints it, so the
 * timeline, the legend and the tests all read the same rows.
 *
 * The palette starts from Okabe-Ito, lightened for the dark background (every colour at least
 * 4.5:1 against it); the duplicate colour is a violet rather than Okabe-Ito's reddish purple, which
 * under protanopia comes too close to the sky blue of a send.
 */

export const PALETTE = Object.freeze({
  background: "#15171c",
  grid: "#2a2e37",
  laneLine: "#3b404b",
  text: "#e8e8e8",
  muted: "#a9adb6",
  blue: "#56b4e9",       // send, delivery, a late timeout
  orange: "#e69f00",     // retry, dead letter
  vermillion: "#ff7a33", // loss and failure
  yellow: "#f0e442",     // waiting: timeout, held, parked; reorder highlight
  green: "#2fc497",      // success: ack, processed, released, applied
  violet: "#b870ff",     // duplicates and nacks
  white: "#f4f4f4",      // bookkeeping: dedup, stale, hindsight, faults
  deepBlue: "#3f9be0",
  crashBand: "rgba(255, 122, 51, 0.13)",
});

const P = PALETTE;

/**
 * The glyph table: key -> {shape, fill, color, label, help}. The order is the legend's (the story
 * of one message). `observer: true` marks what only an observer can know: the producer's view
 * hides it. Legend-only rows (`line`, `arrow`) say how the sample is drawn.
 */
export const GLYPH_TABLE = Object.freeze({
  send: { shape: "circle", fill: "solid", color: P.blue, arrow: "send", label: "Send", help: "first transmission of a message" },
  retry: { shape: "diamond", fill: "solid", color: P.orange, arrow: "retry", label: "Retry", help: "a resend, linked to the timeout (or nack) that caused it" },
  drop: { shape: "cross", fill: "open", color: P.vermillion, arrow: "send", label: "Drop", help: "the network lost the packet: its arrow ends in an X" },
  timeout: { shape: "stopwatch", fill: "hands", color: P.yellow, label: "Timeout", help: "no answer in time: the producer cannot tell why (all it knows)" },
  timeout_processed: { shape: "stopwatch", fill: "check", color: P.green, observer: true, label: "Timeout: it was processed", help: "in hindsight the message had been processed; its answer was lost or slow" },
  timeout_lost: { shape: "stopwatch", fill: "cross", color: P.vermillion, observer: true, label: "Timeout: it was lost", help: "in hindsight nothing that was sent got processed" },
  timeout_late: { shape: "stopwatch", fill: "dots", color: P.blue, observer: true, label: "Timeout: it was late", help: "in hindsight a copy was still on its way and was processed after" },
  timeout_explained: { shape: "eye", fill: "dot", color: P.white, observer: true, label: "Timeout explained", help: "when the observer learned what a timeout really was" },
  deliver: { shape: "arrowhead", fill: "solid", color: P.blue, label: "Delivered", help: "a data packet reached the consumer" },
  deliver_dup: { shape: "arrowhead", fill: "ringed", color: P.violet, label: "Duplicate delivery", help: "this message id arrived before" },
  ack: { shape: "circle", fill: "outline", color: P.green, arrow: "ack_send", label: "Ack", help: "the consumer answers" },
  ack_deliver: { shape: "check", fill: "open", color: P.green, label: "Ack received", help: "the producer knows the message got through" },
  false_done: { shape: "check", fill: "struck", color: P.vermillion, observer: true, label: "False “done”", help: "an ack for a message that was never processed; the producer believes it" },
  ack_lost: { shape: "circle", fill: "cross", color: P.vermillion, arrow: "ack_send", label: "Lost ack", help: "the answer was lost" },
  nack: { shape: "bar", fill: "solid", color: P.violet, arrow: "nack", label: "Nack", help: "a definitive failure answer" },
  nack_deliver: { shape: "bar", fill: "post", color: P.vermillion, label: "Nack received", help: "the producer learns the message failed" },
  net_duplicate: { shape: "rings", fill: "open", color: P.violet, arrow: "net_duplicate", label: "Network duplicate", help: "the network made an extra copy" },
  process: { shape: "square", fill: "solid", color: P.green, label: "Processed", help: "the application applied the message" },
  dup_processed: { shape: "square", fill: "double", color: P.violet, label: "Duplicate processed", help: "applied a second time (two squares)" },
  dup_discarded: { shape: "square", fill: "struck", color: P.white, label: "Discarded by dedup", help: "recognised and not applied again (struck)" },
  dedup_record: { shape: "bookmark", fill: "solid", color: P.white, label: "Dedup key recorded", help: "the consumer writes the message id down, as a step of its own" },
  process_fail: { shape: "triangle", fill: "solid", color: P.vermillion, label: "Processing failed", help: "the application failed the message" },
  held: { shape: "hourglass", fill: "solid", color: P.yellow, label: "Held", help: "reorder buffer waits for an earlier number" },
  released: { shape: "chevron", fill: "open", color: P.green, label: "Released", help: "passed on in order" },
  gap_skip: { shape: "chevron", fill: "double", color: P.vermillion, label: "Gap skipped", help: "the buffer gave up waiting: the missing numbers are lost" },
  stale_drop: { shape: "chevron", fill: "struck", color: P.white, label: "Stale dropped", help: "its number was already passed" },
  transition_applied: { shape: "tag", fill: "solid", color: P.green, label: "Transition applied", help: "state machine accepted it" },
  transition_parked: { shape: "tag", fill: "pause", color: P.yellow, label: "Transition parked", help: "too early; kept until valid" },
  transition_rejected: { shape: "tag", fill: "struck", color: P.vermillion, label: "Transition rejected", help: "can never apply" },
  give_up: { shape: "octagon", fill: "bar", color: P.vermillion, label: "Give up", help: "the producer stops trying" },
  dead_letter: { shape: "envelope", fill: "outline", color: P.orange, label: "Dead letter", help: "failed every attempt: put aside for a person, not retried" },
  crash: { shape: "bolt", fill: "solid", color: P.vermillion, label: "Crash", help: "a node lost its memory; its lane is shaded until restart" },
  restart: { shape: "circular_arrow", fill: "open", color: P.green, label: "Restart", help: "the node is back" },
  fault: { shape: "asterisk", fill: "open", color: P.white, label: "Injected fault", help: "a fault you or the schedule caused" },
  crossing: { shape: "line", fill: "halo", color: P.yellow, line: "crossing", label: "Reordering", help: "a message that arrived after a later one: crossing arrows are highlighted" },
  config: { shape: "line", fill: "dashed", color: P.white, line: "config", label: "Setting changed", help: "a labelled line across all lanes" },
});

/** The timeout glyph for a verdict of `timeout_explained` ("processed" | "lost" | "late"). */
export const TIMEOUT_VERDICT = Object.freeze({
  processed: "timeout_processed", lost: "timeout_lost", late: "timeout_late",
});

/** Which glyph an event gets. Events with no glyph of their own (config_change) return null. */
export function glyphKey(ev) {
  switch (ev.type) {
    case "send": return "send";
    case "retry": return "retry";
    case "drop": return ev.kind && ev.kind !== "data" ? "ack_lost" : "drop";
    case "ack_drop": return "ack_lost";
    case "timeout": return "timeout";
    case "timeout_explained": return "timeout_explained";
    case "ack_send": return "ack";
    case "nack": return "nack";
    case "ack_deliver":
      if (ev.kind === "nack") return "nack_deliver";
      return ev.false_done ? "false_done" : "ack_deliver";
    case "net_duplicate": return "net_duplicate";
    case "deliver": return ev.duplicate ? "deliver_dup" : "deliver";
    case "process": return ev.duplicate ? "dup_processed" : "process";
    case "process_fail": return "process_fail";
    case "dedup_discard": return "dup_discarded";
    case "dedup_record": return "dedup_record";
    case "buffer": return "held";
    case "release": return "released";
    case "gap_skip": return "gap_skip";
    case "stale_drop": return "stale_drop";
    case "transition_applied": return "transition_applied";
    case "transition_parked": return "transition_parked";
    case "transition_rejected": return "transition_rejected";
    case "give_up": return "give_up";
    case "dead_letter": return "dead_letter";
    case "crash": return "crash";
    case "restart": return "restart";
    case "fault_injected": return "fault";
    default: return null;
  }
}

/** Horizontal offset (px at scale 1) from the lane centre, so marks of one instant do not overlap. */
export const GLYPH_OFFSET = Object.freeze({
  timeout: -18, timeout_processed: -18, timeout_lost: -18, timeout_late: -18,
  timeout_explained: -34, give_up: -50, dead_letter: -50, nack_deliver: 0, ack_deliver: 0,
  dup_discarded: 18, dedup_record: -18, held: 18, released: 32, gap_skip: 18, stale_drop: 18,
  transition_applied: 18, transition_parked: 18, transition_rejected: 18, fault: 16,
});

// ------------------------------------------------------------------ drawing primitives

function stroke(ctx, color, width) {
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.stroke();
}

function paint(ctx, color) {
  ctx.fillStyle = color;
  ctx.fill();
}

function polygon(ctx, x, y, r, n, rot) {
  ctx.beginPath();
  for (let i = 0; i < n; i++) {
    const a = rot + (i * 2 * Math.PI) / n;
    const px = x + r * Math.cos(a);
    const py = y + r * Math.sin(a);
    if (i === 0) ctx.moveTo(px, py);
    else ctx.lineTo(px, py);
  }
  ctx.closePath();
}

function lines(ctx, points) {
  ctx.beginPath();
  for (const seg of points) {
    seg.forEach(([px, py], i) => (i ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
  }
}

/** The stroke width of a glyph of radius r (2 px at the default radius of 7). */
export function lineWidth(r) {
  return Math.max(1, r * 0.29);
}

/**
 * Figures. `area` ones are closed paths (filled or outlined); the others are line art. `cx` is
 * the figure's visual centre as an offset in radii (an arrowhead ends at the point, not around it).
 */
export const SHAPES = {
  circle: { area: true, path(ctx, x, y, r) { ctx.beginPath(); ctx.arc(x, y, r * 0.7, 0, Math.PI * 2); } },
  square: { area: true, path(ctx, x, y, r) { ctx.beginPath(); ctx.rect(x - r * 0.62, y - r * 0.62, r * 1.24, r * 1.24); } },
  diamond: { area: true, path(ctx, x, y, r) { polygon(ctx, x, y, r, 4, -Math.PI / 2); } },
  triangle: { area: true, path(ctx, x, y, r) { polygon(ctx, x, y + r * 0.15, r, 3, -Math.PI / 2); } },
  octagon: { area: true, path(ctx, x, y, r) { polygon(ctx, x, y, r, 8, Math.PI / 8); } },
  arrowhead: {
    area: true,
    cx: -0.5,
    path(ctx, x, y, r) {
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x - r, y - r * 0.62);
      ctx.lineTo(x - r, y + r * 0.62);
      ctx.closePath();
    },
  },
  hourglass: {
    area: true,
    path(ctx, x, y, r) {
      ctx.beginPath();
      ctx.moveTo(x - r * 0.62, y - r * 0.85);
      ctx.lineTo(x + r * 0.62, y - r * 0.85);
      ctx.lineTo(x - r * 0.62, y + r * 0.85);
      ctx.lineTo(x + r * 0.62, y + r * 0.85);
      ctx.closePath();
    },
  },
  // a flat arrow-shaped tag: a transition from one state to the next
  tag: {
    area: true,
    path(ctx, x, y, r) {
      ctx.beginPath();
      ctx.moveTo(x - r, y - r * 0.58);
      ctx.lineTo(x + r * 0.4, y - r * 0.58);
      ctx.lineTo(x + r * 1.05, y);
      ctx.lineTo(x + r * 0.4, y + r * 0.58);
      ctx.lineTo(x - r, y + r * 0.58);
      ctx.closePath();
    },
  },
  // a stopwatch: a dial with a crown on top
  stopwatch: {
    area: true,
    cy: 0.1,
    path(ctx, x, y, r) {
      ctx.beginPath();
      ctx.arc(x, y + r * 0.1, r * 0.82, 0, Math.PI * 2);
    },
    detail(ctx, x, y, r, color) {
      ctx.beginPath();
      ctx.rect(x - r * 0.26, y - r * 1.12, r * 0.52, r * 0.28);
      paint(ctx, color);
    },
  },
  eye: {
    area: true,
    path(ctx, x, y, r) {
      ctx.beginPath();
      ctx.moveTo(x - r * 1.05, y);
      ctx.quadraticCurveTo(x, y - r * 1.15, x + r * 1.05, y);
      ctx.quadraticCurveTo(x, y + r * 1.15, x - r * 1.05, y);
      ctx.closePath();
    },
  },
  envelope: {
    area: true,
    path(ctx, x, y, r) { ctx.beginPath(); ctx.rect(x - r, y - r * 0.66, r * 2, r * 1.32); },
    detail(ctx, x, y, r, color) {
      lines(ctx, [[[x - r, y - r * 0.66], [x, y + r * 0.12], [x + r, y - r * 0.66]]]);
      stroke(ctx, color, lineWidth(r) * 0.8);
    },
  },
  bookmark: {
    area: true,
    path(ctx, x, y, r) {
      ctx.beginPath();
      ctx.moveTo(x - r * 0.55, y - r * 0.85);
      ctx.lineTo(x + r * 0.55, y - r * 0.85);
      ctx.lineTo(x + r * 0.55, y + r * 0.9);
      ctx.lineTo(x, y + r * 0.42);
      ctx.lineTo(x - r * 0.55, y + r * 0.9);
      ctx.closePath();
    },
  },
  bar: { area: true, path(ctx, x, y, r) { ctx.beginPath(); ctx.rect(x - r * 0.75, y - r * 0.24, r * 1.5, r * 0.48); } },
  bolt: {
    area: true,
    path(ctx, x, y, r) {
      ctx.beginPath();
      ctx.moveTo(x + r * 0.3, y - r);
      ctx.lineTo(x - r * 0.5, y + r * 0.1);
      ctx.lineTo(x + r * 0.1, y + r * 0.1);
      ctx.lineTo(x - r * 0.3, y + r);
      ctx.lineTo(x + r * 0.6, y - r * 0.2);
      ctx.lineTo(x, y - r * 0.2);
      ctx.closePath();
    },
  },
  cross: {
    path(ctx, x, y, r) {
      lines(ctx, [[[x - r * 0.85, y - r * 0.85], [x + r * 0.85, y + r * 0.85]],
        [[x + r * 0.85, y - r * 0.85], [x - r * 0.85, y + r * 0.85]]]);
    },
    weight: 1.4,
  },
  check: {
    path(ctx, x, y, r) {
      lines(ctx, [[[x - r * 0.8, y], [x - r * 0.2, y + r * 0.62], [x + r * 0.9, y - r * 0.7]]]);
    },
    weight: 1.25,
    strike: "horizontal",
  },
  chevron: {
    path(ctx, x, y, r) {
      lines(ctx, [[[x - r * 0.45, y - r * 0.75], [x + r * 0.45, y], [x - r * 0.45, y + r * 0.75]]]);
    },
    weight: 1.25,
    strike: "steep",
  },
  rings: {
    path(ctx, x, y, r) {
      ctx.beginPath();
      ctx.arc(x - r * 0.35, y, r * 0.6, 0, Math.PI * 2);
      ctx.moveTo(x + r * 0.95, y);
      ctx.arc(x + r * 0.35, y, r * 0.6, 0, Math.PI * 2);
    },
  },
  circular_arrow: {
    path(ctx, x, y, r) {
      ctx.beginPath();
      ctx.arc(x, y, r * 0.75, -Math.PI * 0.35, Math.PI * 1.35);
      const a = -Math.PI * 0.35;
      const hx = x + r * 0.75 * Math.cos(a);
      const hy = y + r * 0.75 * Math.sin(a);
      ctx.moveTo(hx + r * 0.45, hy - r * 0.1);
      ctx.lineTo(hx, hy);
      ctx.lineTo(hx + r * 0.1, hy + r * 0.5);
    },
  },
  asterisk: {
    path(ctx, x, y, r) {
      ctx.beginPath();
      for (let i = 0; i < 3; i++) {
        const a = (i * Math.PI) / 3;
        ctx.moveTo(x - r * 0.8 * Math.cos(a), y - r * 0.8 * Math.sin(a));
        ctx.lineTo(x + r * 0.8 * Math.cos(a), y + r * 0.8 * Math.sin(a));
      }
    },
  },
};

/** Inner signs, drawn in the glyph's colour around the figure's centre (cx, cy). */
const SIGNS = {
  hands(ctx, x, y, r, color) {
    lines(ctx, [[[x, y - r * 0.5], [x, y], [x + r * 0.42, y]]]);
    stroke(ctx, color, lineWidth(r));
  },
  check(ctx, x, y, r, color) {
    lines(ctx, [[[x - r * 0.42, y], [x - r * 0.1, y + r * 0.34], [x + r * 0.45, y - r * 0.36]]]);
    stroke(ctx, color, lineWidth(r));
  },
  cross(ctx, x, y, r, color) {
    const s = r * 0.36;
    lines(ctx, [[[x - s, y - s], [x + s, y + s]], [[x + s, y - s], [x - s, y + s]]]);
    stroke(ctx, color, lineWidth(r));
  },
  dots(ctx, x, y, r, color) {
    ctx.beginPath();
    for (const dx of [-0.38, 0, 0.38]) {
      ctx.moveTo(x + dx * r + r * 0.14, y);
      ctx.arc(x + dx * r, y, r * 0.14, 0, Math.PI * 2);
    }
    paint(ctx, color);
  },
  dot(ctx, x, y, r, color) {
    ctx.beginPath();
    ctx.arc(x, y, r * 0.3, 0, Math.PI * 2);
    paint(ctx, color);
  },
  pause(ctx, x, y, r, color) {
    ctx.beginPath();
    ctx.rect(x - r * 0.46, y - r * 0.32, r * 0.24, r * 0.64);
    ctx.rect(x - r * 0.02, y - r * 0.32, r * 0.24, r * 0.64);
    paint(ctx, color);
  },
};

function outline(ctx, shape, x, y, r, color) {
  shape.path(ctx, x, y, r);
  paint(ctx, P.background);
  shape.path(ctx, x, y, r);
  stroke(ctx, color, lineWidth(r));
}

/** Line art with a thin halo of background under it, so it reads on top of arrows. */
function openLines(ctx, shape, x, y, r, color) {
  const w = lineWidth(r) * (shape.weight || 1);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  shape.path(ctx, x, y, r);
  stroke(ctx, P.background, w + 2);
  shape.path(ctx, x, y, r);
  stroke(ctx, color, w);
  ctx.lineCap = "butt";
  ctx.lineJoin = "miter";
}

/** Strike lines as [dx, dy] of their start (the end mirrors it), across the figure's own lines. */
const STRIKES = {
  diagonal: [-1, 0.85],
  horizontal: [-1.05, -0.05],
  steep: [-0.45, 1],
};

function strike(ctx, x, y, r, color, kind = "diagonal") {
  const [dx, dy] = STRIKES[kind];
  const seg = [[[x + dx * r, y + dy * r], [x - dx * r, y - dy * r]]];
  ctx.lineCap = "round";
  lines(ctx, seg);
  stroke(ctx, P.background, lineWidth(r) + 3);
  lines(ctx, seg);
  stroke(ctx, color, lineWidth(r));
  ctx.lineCap = "butt";
}

/** Fills: how a figure is painted, in one colour on the dark background. */
export const FILLS = {
  solid(ctx, shape, x, y, r, color) {
    if (!shape.area) return openLines(ctx, shape, x, y, r, color);
    shape.path(ctx, x, y, r);
    paint(ctx, color);
  },
  outline(ctx, shape, x, y, r, color) {
    if (!shape.area) return openLines(ctx, shape, x, y, r, color);
    outline(ctx, shape, x, y, r, color);
  },
  open(ctx, shape, x, y, r, color) {
    if (shape.area) return outline(ctx, shape, x, y, r, color);
    openLines(ctx, shape, x, y, r, color);
  },
  // a second copy behind the first: "twice"
  double(ctx, shape, x, y, r, color) {
    if (shape.area) {
      const d = r * 0.32;
      outline(ctx, shape, x - d, y - d, r * 0.9, color);
      shape.path(ctx, x + d * 0.6, y + d * 0.6, r * 0.9);
      stroke(ctx, P.background, 2);
      shape.path(ctx, x + d * 0.6, y + d * 0.6, r * 0.9);
      paint(ctx, color);
    } else {
      openLines(ctx, shape, x - r * 0.4, y, r, color);
      openLines(ctx, shape, x + r * 0.4, y, r, color);
    }
  },
  // struck through: recognised and set aside
  struck(ctx, shape, x, y, r, color) {
    FILLS.open(ctx, shape, x, y, r, color);
    strike(ctx, x + (shape.cx || 0) * r, y, r, color, shape.strike);
  },
  // a ring around the figure
  ringed(ctx, shape, x, y, r, color) {
    FILLS.solid(ctx, shape, x, y, r, color);
    ctx.beginPath();
    ctx.arc(x + (shape.cx || 0) * r, y, r * 0.98, 0, Math.PI * 2);
    stroke(ctx, color, lineWidth(r) * 0.9);
  },
  // a post on the left: the figure has run into something
  post(ctx, shape, x, y, r, color) {
    FILLS.solid(ctx, shape, x, y, r, color);
    lines(ctx, [[[x - r * 0.85, y - r * 0.75], [x - r * 0.85, y + r * 0.75]]]);
    stroke(ctx, color, lineWidth(r) * 1.15);
  },
  // a wide bar cut out of a solid figure: "no entry"
  bar(ctx, shape, x, y, r, color) {
    FILLS.solid(ctx, shape, x, y, r, color);
    ctx.beginPath();
    ctx.rect(x - r * 0.66, y - r * 0.22, r * 1.32, r * 0.44);
    paint(ctx, P.background);
  },
};
for (const sign of Object.keys(SIGNS)) {
  FILLS[sign] = (ctx, shape, x, y, r, color) => {
    outline(ctx, shape, x, y, r, color);
    SIGNS[sign](ctx, x + (shape.cx || 0) * r, y + (shape.cy || 0) * r, r, color);
  };
}

/** Draw the glyph `key` (a GLYPH_TABLE row) centred on (x, y) with radius r (CSS pixels). */
export function drawGlyph(ctx, key, x, y, r) {
  const g = GLYPH_TABLE[key];
  const shape = SHAPES[g.shape];
  FILLS[g.fill](ctx, shape, x, y, r, g.color);
  if (shape.detail) shape.detail(ctx, x, y, r, g.color);
}

/** Drawing functions by glyph key (every row with a figure). */
export const GLYPHS = Object.freeze(Object.fromEntries(
  Object.keys(GLYPH_TABLE).filter((key) => SHAPES[GLYPH_TABLE[key].shape])
    .map((key) => [key, (ctx, x, y, r) => drawGlyph(ctx, key, x, y, r)]),
));

/** Line styles of packet arrows, by what put the packet on the wire. */
export const ARROW_STYLE = Object.freeze({
  send: { color: P.blue, width: 2, dash: [] },
  retry: { color: P.orange, width: 2, dash: [7, 4] },
  ack_send: { color: P.green, width: 1.5, dash: [] },
  nack: { color: P.violet, width: 1.5, dash: [3, 3] },
  net_duplicate: { color: P.violet, width: 2, dash: [2, 3] },
});

/**
 * The legend: every row of the glyph table with what it means. `arrow` names the arrow style
 * drawn with the glyph, `line` a special line.
 */
export const LEGEND = Object.freeze(Object.entries(GLYPH_TABLE).map(([key, g]) => Object.freeze({
  key, label: g.label, help: g.help, shape: g.shape, fill: g.fill, color: g.color,
  ...(g.arrow ? { arrow: g.arrow } : {}),
  ...(g.line ? { line: g.line } : {}),
  ...(g.observer ? { observer: true } : {}),
})));

/** Draw one legend sample (glyph, arrow or line) into a small canvas context of size w x h. */
export function drawLegendSample(ctx, entry, w, h) {
  ctx.clearRect(0, 0, w, h);
  const y = h / 2;
  if (entry.line === "crossing") {
    ctx.lineCap = "round";
    for (const [a, b] of [[4, h - 4], [h - 4, 4]]) {
      ctx.beginPath();
      ctx.moveTo(4, a);
      ctx.lineTo(w - 4, b);
      stroke(ctx, "rgba(240, 228, 66, 0.45)", 7);
      ctx.beginPath();
      ctx.moveTo(4, a);
      ctx.lineTo(w - 4, b);
      stroke(ctx, P.blue, 2);
    }
    ctx.lineCap = "butt";
    return;
  }
  if (entry.line === "config") {
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(2, y);
    ctx.lineTo(w - 2, y);
    stroke(ctx, P.white, 1.5);
    ctx.setLineDash([]);
    return;
  }
  if (entry.arrow) {
    const s = ARROW_STYLE[entry.arrow];
    const lost = entry.key === "drop" || entry.key === "ack_lost";
    const end = lost ? w * 0.62 : w - 10;
    ctx.setLineDash(s.dash);
    ctx.beginPath();
    ctx.moveTo(8, y);
    ctx.lineTo(end, y);
    stroke(ctx, s.color, s.width);
    ctx.setLineDash([]);
    drawGlyph(ctx, entry.key, lost ? end : 8, y, 6);
    return;
  }
  const g = GLYPH_TABLE[entry.key];
  drawGlyph(ctx, entry.key, w / 2 - (SHAPES[g.shape].cx || 0) * 7, y, 7);
}
