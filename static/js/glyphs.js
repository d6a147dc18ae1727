/**
 * Glyphs: the page's drawing library. A mark is drawn from a `shape` (the figure: circle, square,
 * stopwatch, ...), a `fill` (how the figure is filled or what is added to it: solid, outline, an
 * inner sign, a strike, a second copy) and one `color`. Which mark each happening gets, and the
 * legend's words, are the protocol's: they come in the manifest (manifest.js); this module only
 * knows how to draw. SHAPES builds a figure's path, FILLS paints it, ARROWS are the line styles of
 * packet arrows, so the timeline, the legend and the tests draw the same way.
 *
 * The palette starts from Okabe-Ito, lightened for the dark background (every colour at least
 * 4.5:1 against it); the duplicate colour is a violet rather than Okabe-Ito's reddish purple, which
 * under protanopia comes too close to the sky blue of a send. A manifest names its colours by the
 * keys of PALETTE.
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
  emphasisBand: "rgba(240, 228, 66, 0.07)", // a lane a lesson step points at
});

const P = PALETTE;

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

/**
 * Draw `mark` ({shape, fill, color}: a row of the manifest's marks, its colour resolved) centred
 * on (x, y) with radius r (CSS pixels). A shape or fill this library does not know draws nothing.
 */
export function drawGlyph(ctx, mark, x, y, r) {
  const shape = SHAPES[mark.shape];
  const fill = FILLS[mark.fill];
  if (!shape || !fill) return;
  fill(ctx, shape, x, y, r, mark.color);
  if (shape.detail) shape.detail(ctx, x, y, r, mark.color);
}

/** Whether `mark` is a figure this library draws (not a line, not an unknown shape). */
export function isGlyph(mark) {
  return Boolean(mark && SHAPES[mark.shape] && FILLS[mark.fill]);
}

/** Line styles of packet arrows (drawn in the colour of the mark that put the packet on the wire). */
export const ARROWS = Object.freeze({
  solid: Object.freeze({ width: 2, dash: [] }),
  dashed: Object.freeze({ width: 2, dash: [7, 4] }),
  thin: Object.freeze({ width: 1.5, dash: [] }),
  "thin-dashed": Object.freeze({ width: 1.5, dash: [3, 3] }),
  dotted: Object.freeze({ width: 2, dash: [2, 3] }),
});

/** The arrow of a mark: its line style (ARROWS[mark.arrow], else solid) in the mark's colour. */
export function arrowOf(mark) {
  const style = ARROWS[mark && mark.arrow] || ARROWS.solid;
  return { color: mark ? mark.color : P.blue, width: style.width, dash: style.dash };
}

/** `hex` (#rrggbb) with opacity `alpha`, as a CSS colour. */
export function withAlpha(hex, alpha) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(String(hex));
  if (!m) return hex;
  const [r, g, b] = m.slice(1).map((h) => parseInt(h, 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** Line marks (shape "line"), by fill: how their legend sample is drawn. */
const LINE_SAMPLES = {
  // arrows that cross, with the reordering halo under them
  halo(ctx, mark, w, h) {
    ctx.lineCap = "round";
    for (const [a, b] of [[4, h - 4], [h - 4, 4]]) {
      ctx.beginPath();
      ctx.moveTo(4, a);
      ctx.lineTo(w - 4, b);
      stroke(ctx, withAlpha(mark.color, 0.45), 7);
      ctx.beginPath();
      ctx.moveTo(4, a);
      ctx.lineTo(w - 4, b);
      stroke(ctx, P.blue, 2);
    }
    ctx.lineCap = "butt";
  },
  // a dashed line across
  dashed(ctx, mark, w, h) {
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(2, h / 2);
    ctx.lineTo(w - 2, h / 2);
    stroke(ctx, mark.color, 1.5);
    ctx.setLineDash([]);
  },
};

/**
 * Draw one legend sample into a small canvas context of size w x h. `row` is a legend row
 * (manifest.js): its `mark`, and the `arrow` ({color, width, dash}) drawn with it, which `cut`
 * ends at the mark (a loss) instead of starting from it.
 */
export function drawLegendSample(ctx, row, w, h) {
  ctx.clearRect(0, 0, w, h);
  const { mark } = row;
  const y = h / 2;
  if (mark.shape === "line") {
    LINE_SAMPLES[mark.fill]?.(ctx, mark, w, h);
    return;
  }
  if (row.arrow) {
    const s = row.arrow;
    const end = row.cut ? w * 0.62 : w - 10;
    ctx.setLineDash(s.dash);
    ctx.beginPath();
    ctx.moveTo(8, y);
    ctx.lineTo(end, y);
    stroke(ctx, s.color, s.width);
    ctx.setLineDash([]);
    drawGlyph(ctx, mark, row.cut ? end : 8, y, 6);
    return;
  }
  drawGlyph(ctx, mark, w / 2 - (SHAPES[mark.shape]?.cx || 0) * 7, y, 7);
}
