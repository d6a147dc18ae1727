/**
 * Glyphs: one mark per kind of happening, distinct by shape as well as colour.
 *
 * The palette is Okabe-Ito (safe for the common colour-vision deficiencies), used on a dark
 * background where every colour keeps a contrast of at least 3:1. Each glyph is a small drawing
 * function centred on (x, y); the timeline and the legend call the same functions, so what the
 * legend shows is exactly what the timeline draws.
 */

export const PALETTE = Object.freeze({
  background: "#15171c",
  grid: "#2a2e37",
  laneLine: "#3b404b",
  text: "#e8e8e8",
  muted: "#a9adb6",
  blue: "#56b4e9",      // send
  orange: "#e69f00",    // retry
  vermillion: "#ff7a33", // drop, give-up (Okabe-Ito vermillion, lightened for contrast on dark)
  yellow: "#f0e442",    // timeout, reorder highlight
  green: "#2fc497",     // ack, process (bluish green, lightened)
  purple: "#e08fbf",    // duplicates (reddish purple, lightened)
  white: "#f4f4f4",
  deepBlue: "#3f9be0",
  crashBand: "rgba(255, 122, 51, 0.13)",
});

/** Which glyph an event gets. Events with no glyph of their own (config_change) return null. */
export function glyphKey(ev) {
  switch (ev.type) {
    case "send": return "send";
    case "retry": return "retry";
    case "drop": return ev.kind && ev.kind !== "data" ? "ack_lost" : "drop";
    case "ack_drop": return "ack_lost";
    case "timeout": return "timeout";
    case "ack_send": return "ack";
    case "nack": return "nack";
    case "ack_deliver": return ev.kind === "nack" ? "nack_deliver" : "ack_deliver";
    case "net_duplicate": return "net_duplicate";
    case "deliver": return ev.duplicate ? "deliver_dup" : "deliver";
    case "process": return ev.duplicate ? "dup_processed" : "process";
    case "process_fail": return "process_fail";
    case "dedup_discard": return "dup_discarded";
    case "buffer": return "held";
    case "release": return "released";
    case "gap_skip": return "gap_skip";
    case "stale_drop": return "stale_drop";
    case "transition_applied": return "transition_applied";
    case "transition_parked": return "transition_parked";
    case "transition_rejected": return "transition_rejected";
    case "give_up": return "give_up";
    case "crash": return "crash";
    case "restart": return "restart";
    case "fault_injected": return "fault";
    default: return null;
  }
}

/** Horizontal offset (px) from the lane centre, so marks of one instant do not sit on each other. */
export const GLYPH_OFFSET = Object.freeze({
  timeout: -18, give_up: -34, nack_deliver: 0, ack_deliver: 0,
  dup_discarded: 18, held: 18, released: 32, gap_skip: 18, stale_drop: 18,
  transition_applied: 18, transition_parked: 18, transition_rejected: 18, fault: 16,
});

function stroke(ctx, color, width) {
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.stroke();
}

function fill(ctx, color) {
  ctx.fillStyle = color;
  ctx.fill();
}

function circle(ctx, x, y, r) {
  ctx.beginPath();
  ctx.arc(x, y, r, 0, Math.PI * 2);
}

function square(ctx, x, y, r) {
  ctx.beginPath();
  ctx.rect(x - r, y - r, 2 * r, 2 * r);
}

function cross(ctx, x, y, r) {
  ctx.beginPath();
  ctx.moveTo(x - r, y - r);
  ctx.lineTo(x + r, y + r);
  ctx.moveTo(x + r, y - r);
  ctx.lineTo(x - r, y + r);
}

function diamond(ctx, x, y, r) {
  ctx.beginPath();
  ctx.moveTo(x, y - r);
  ctx.lineTo(x + r, y);
  ctx.lineTo(x, y + r);
  ctx.lineTo(x - r, y);
  ctx.closePath();
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

const P = PALETTE;

/** Drawing functions by glyph key; `r` is the glyph radius in CSS pixels. */
export const GLYPHS = {
  send(ctx, x, y, r) { circle(ctx, x, y, r * 0.7); fill(ctx, P.blue); },
  retry(ctx, x, y, r) { diamond(ctx, x, y, r); fill(ctx, P.orange); },
  drop(ctx, x, y, r) {
    cross(ctx, x, y, r * 0.9);
    stroke(ctx, P.background, 5);
    cross(ctx, x, y, r * 0.9);
    stroke(ctx, P.vermillion, 3);
  },
  ack_lost(ctx, x, y, r) {
    circle(ctx, x, y, r);
    fill(ctx, P.background);
    stroke(ctx, P.green, 1.5);
    cross(ctx, x, y, r * 0.55);
    stroke(ctx, P.vermillion, 2);
  },
  timeout(ctx, x, y, r) {
    circle(ctx, x, y, r);
    fill(ctx, P.background);
    stroke(ctx, P.yellow, 2);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x, y - r * 0.7);
    ctx.moveTo(x, y);
    ctx.lineTo(x + r * 0.55, y);
    stroke(ctx, P.yellow, 2);
  },
  // an open ring: the answer leaves (a send is a filled disc)
  ack(ctx, x, y, r) {
    circle(ctx, x, y, r * 0.5);
    fill(ctx, P.background);
    stroke(ctx, P.green, 2);
  },
  // a minus bar: a negative answer (a processed message is a square)
  nack(ctx, x, y, r) {
    ctx.beginPath();
    ctx.rect(x - r * 0.75, y - r * 0.22, r * 1.5, r * 0.44);
    fill(ctx, P.purple);
  },
  ack_deliver(ctx, x, y, r) {
    ctx.beginPath();
    ctx.moveTo(x - r * 0.8, y);
    ctx.lineTo(x - r * 0.2, y + r * 0.6);
    ctx.lineTo(x + r * 0.9, y - r * 0.7);
    stroke(ctx, P.green, 2.5);
  },
  nack_deliver(ctx, x, y, r) {
    ctx.beginPath();
    ctx.moveTo(x - r, y);
    ctx.lineTo(x + r, y);
    ctx.moveTo(x - r, y - r * 0.7);
    ctx.lineTo(x - r, y + r * 0.7);
    stroke(ctx, P.purple, 2.5);
  },
  net_duplicate(ctx, x, y, r) {
    circle(ctx, x - r * 0.35, y, r * 0.6);
    stroke(ctx, P.purple, 2);
    circle(ctx, x + r * 0.35, y, r * 0.6);
    stroke(ctx, P.purple, 2);
  },
  deliver(ctx, x, y, r) {
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x - r, y - r * 0.6);
    ctx.lineTo(x - r, y + r * 0.6);
    ctx.closePath();
    fill(ctx, P.blue);
  },
  deliver_dup(ctx, x, y, r) {
    GLYPHS.deliver(ctx, x, y, r);
    circle(ctx, x + r * 0.2, y, r * 0.9);
    stroke(ctx, P.purple, 2);
  },
  process(ctx, x, y, r) { square(ctx, x, y, r * 0.65); fill(ctx, P.green); },
  dup_processed(ctx, x, y, r) {
    square(ctx, x, y, r * 0.65);
    fill(ctx, P.purple);
    // the flag: a pennant on a pole above the square
    ctx.beginPath();
    ctx.moveTo(x + r * 0.65, y - r * 0.65);
    ctx.lineTo(x + r * 0.65, y - r * 1.9);
    stroke(ctx, P.white, 1.5);
    ctx.beginPath();
    ctx.moveTo(x + r * 0.65, y - r * 1.9);
    ctx.lineTo(x + r * 1.6, y - r * 1.5);
    ctx.lineTo(x + r * 0.65, y - r * 1.15);
    ctx.closePath();
    fill(ctx, P.vermillion);
  },
  process_fail(ctx, x, y, r) {
    polygon(ctx, x, y, r, 3, -Math.PI / 2);
    fill(ctx, P.vermillion);
  },
  dup_discarded(ctx, x, y, r) {
    square(ctx, x, y, r * 0.65);
    stroke(ctx, P.purple, 1.5);
    ctx.beginPath();
    ctx.moveTo(x - r, y + r * 0.9);
    ctx.lineTo(x + r, y - r * 0.9);
    stroke(ctx, P.white, 2);
  },
  held(ctx, x, y, r) {
    // an hourglass: held back, waiting
    ctx.beginPath();
    ctx.moveTo(x - r * 0.6, y - r * 0.8);
    ctx.lineTo(x + r * 0.6, y - r * 0.8);
    ctx.lineTo(x - r * 0.6, y + r * 0.8);
    ctx.lineTo(x + r * 0.6, y + r * 0.8);
    ctx.closePath();
    fill(ctx, P.yellow);
  },
  released(ctx, x, y, r) {
    ctx.beginPath();
    ctx.moveTo(x - r * 0.7, y - r * 0.7);
    ctx.lineTo(x + r * 0.8, y);
    ctx.lineTo(x - r * 0.7, y + r * 0.7);
    stroke(ctx, P.yellow, 2.5);
  },
  gap_skip(ctx, x, y, r) {
    for (const dx of [-0.55, 0.2]) {
      ctx.beginPath();
      ctx.moveTo(x + (dx - 0.3) * r, y - r * 0.7);
      ctx.lineTo(x + (dx + 0.4) * r, y);
      ctx.lineTo(x + (dx - 0.3) * r, y + r * 0.7);
      stroke(ctx, P.orange, 2);
    }
  },
  stale_drop(ctx, x, y, r) {
    circle(ctx, x, y, r * 0.7);
    stroke(ctx, P.muted, 1.5);
    ctx.beginPath();
    ctx.moveTo(x - r, y);
    ctx.lineTo(x + r, y);
    stroke(ctx, P.white, 2);
  },
  transition_applied(ctx, x, y, r) {
    circle(ctx, x, y, r * 0.75);
    stroke(ctx, P.green, 2);
    circle(ctx, x, y, r * 0.3);
    fill(ctx, P.green);
  },
  transition_parked(ctx, x, y, r) {
    ctx.beginPath();
    ctx.rect(x - r * 0.6, y - r * 0.7, r * 0.4, r * 1.4);
    ctx.rect(x + r * 0.2, y - r * 0.7, r * 0.4, r * 1.4);
    fill(ctx, P.yellow);
  },
  transition_rejected(ctx, x, y, r) {
    circle(ctx, x, y, r * 0.75);
    stroke(ctx, P.vermillion, 2);
    ctx.beginPath();
    ctx.moveTo(x - r * 0.53, y + r * 0.53);
    ctx.lineTo(x + r * 0.53, y - r * 0.53);
    stroke(ctx, P.vermillion, 2);
  },
  // a "no entry" sign: an octagon with a wide bar cut out of it
  give_up(ctx, x, y, r) {
    polygon(ctx, x, y, r, 8, Math.PI / 8);
    fill(ctx, P.vermillion);
    ctx.beginPath();
    ctx.rect(x - r * 0.68, y - r * 0.24, r * 1.36, r * 0.48);
    fill(ctx, P.background);
  },
  crash(ctx, x, y, r) {
    ctx.beginPath();
    ctx.moveTo(x + r * 0.3, y - r);
    ctx.lineTo(x - r * 0.5, y + r * 0.1);
    ctx.lineTo(x + r * 0.1, y + r * 0.1);
    ctx.lineTo(x - r * 0.3, y + r);
    ctx.lineTo(x + r * 0.6, y - r * 0.2);
    ctx.lineTo(x, y - r * 0.2);
    ctx.closePath();
    fill(ctx, P.vermillion);
  },
  restart(ctx, x, y, r) {
    ctx.beginPath();
    ctx.arc(x, y, r * 0.75, -Math.PI * 0.35, Math.PI * 1.35);
    stroke(ctx, P.green, 2);
    const a = -Math.PI * 0.35;
    const hx = x + r * 0.75 * Math.cos(a);
    const hy = y + r * 0.75 * Math.sin(a);
    ctx.beginPath();
    ctx.moveTo(hx + r * 0.45, hy - r * 0.1);
    ctx.lineTo(hx, hy);
    ctx.lineTo(hx + r * 0.1, hy + r * 0.5);
    stroke(ctx, P.green, 2);
  },
  fault(ctx, x, y, r) {
    ctx.beginPath();
    for (let i = 0; i < 3; i++) {
      const a = (i * Math.PI) / 3;
      ctx.moveTo(x - r * 0.8 * Math.cos(a), y - r * 0.8 * Math.sin(a));
      ctx.lineTo(x + r * 0.8 * Math.cos(a), y + r * 0.8 * Math.sin(a));
    }
    stroke(ctx, P.white, 2);
  },
};

/** Line styles of packet arrows, by what put the packet on the wire. */
export const ARROW_STYLE = Object.freeze({
  send: { color: P.blue, width: 2, dash: [] },
  retry: { color: P.orange, width: 2, dash: [7, 4] },
  ack_send: { color: P.green, width: 1.5, dash: [] },
  nack: { color: P.purple, width: 1.5, dash: [3, 3] },
  net_duplicate: { color: P.purple, width: 2, dash: [2, 3] },
});

/**
 * The legend: every glyph with what it means. `draw` names a glyph, `arrow` an arrow style,
 * `line` a special line. Order follows the story of one message.
 */
export const LEGEND = Object.freeze([
  { key: "send", arrow: "send", label: "Send", help: "first transmission of a message" },
  { key: "retry", arrow: "retry", label: "Retry", help: "a resend, linked to the timeout that caused it" },
  { key: "drop", arrow: "send", label: "Drop", help: "the network lost the packet: its arrow ends in an X" },
  { key: "timeout", label: "Timeout", help: "no answer in time, on the sender's lane" },
  { key: "deliver", label: "Delivered", help: "a data packet reached the consumer" },
  { key: "deliver_dup", label: "Duplicate delivery", help: "this message id arrived before" },
  { key: "ack", arrow: "ack_send", label: "Ack", help: "the consumer answers" },
  { key: "ack_deliver", label: "Ack received", help: "the producer knows the message got through" },
  { key: "ack_lost", arrow: "ack_send", label: "Lost ack", help: "the answer was lost" },
  { key: "nack", arrow: "nack", label: "Nack", help: "a definitive failure answer" },
  { key: "nack_deliver", label: "Nack received", help: "the producer learns the message failed" },
  { key: "net_duplicate", arrow: "net_duplicate", label: "Network duplicate", help: "the network made an extra copy" },
  { key: "process", label: "Processed", help: "the application applied the message" },
  { key: "dup_processed", label: "Duplicate processed", help: "applied a second time (flagged)" },
  { key: "dup_discarded", label: "Discarded by dedup", help: "recognised and not applied again (struck)" },
  { key: "process_fail", label: "Processing failed", help: "the application failed the message" },
  { key: "held", label: "Held", help: "reorder buffer waits for an earlier number" },
  { key: "released", label: "Released", help: "passed on in order" },
  { key: "gap_skip", label: "Gap skipped", help: "the buffer gave up waiting" },
  { key: "stale_drop", label: "Stale dropped", help: "its number was already passed" },
  { key: "transition_applied", label: "Transition applied", help: "state machine accepted it" },
  { key: "transition_parked", label: "Transition parked", help: "too early; kept until valid" },
  { key: "transition_rejected", label: "Transition rejected", help: "can never apply" },
  { key: "give_up", label: "Give up", help: "the producer stops trying" },
  { key: "crash", label: "Crash", help: "a node lost its memory; its lane is shaded until restart" },
  { key: "restart", label: "Restart", help: "the node is back" },
  { key: "fault", label: "Injected fault", help: "a fault you or the schedule caused" },
  { key: "crossing", line: "crossing", label: "Reordering", help: "a message that arrived after a later one: crossing arrows are highlighted" },
  { key: "config", line: "config", label: "Setting changed", help: "a labelled line across all lanes" },
]);

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
    const end = entry.key === "drop" || entry.key === "ack_lost" ? w * 0.62 : w - 10;
    ctx.setLineDash(s.dash);
    ctx.beginPath();
    ctx.moveTo(8, y);
    ctx.lineTo(end, y);
    stroke(ctx, s.color, s.width);
    ctx.setLineDash([]);
    if (entry.key === "drop" || entry.key === "ack_lost") {
      GLYPHS[entry.key](ctx, end, y, 6);
    } else {
      GLYPHS[entry.key](ctx, 8, y, 6);
    }
    return;
  }
  GLYPHS[entry.key](ctx, w / 2, y + (entry.key === "dup_processed" ? 4 : 0), 7);
}
