/**
 * The Experiments panel: sweep one setting of the plain model over a range, for each delivery
 * semantics, many messages per run and several seeds per value, and watch the rows come in on a
 * chart (docs/protocol.md, "Sweeps"; what a row means: docs/sweeps.md).
 *
 * "Run sweep" sends `sweep_start {setting, values: "A:B:N", semantics, seeds, messages, base}`,
 * `base` being the current run's settings (its seed the first seed); a refusal is shown next to
 * the form, naming the field. The server then streams `sweep_progress` (the bar and its status),
 * `sweep_row` (a point per value and semantics, drawn as it arrives) and `sweep_done` (done or
 * cancelled); events of any other sweep than the one started here last are ignored. "Cancel"
 * sends `sweep_cancel`.
 *
 * The chart is uPlot (static/vendor/uplot/): x the swept value, y one rate per message (the
 * "Show" select). Each semantics has its colour from the page's palette and its own marker shape
 * (circle, square, triangle: told apart without colour too); the measured means are joined by a
 * thin line, the 95% confidence interval of each is an error bar and the closed form, where one
 * holds, a thin dashed line (bars and markers are drawn in uPlot's `draw` hook). Where a row has
 * no closed form the caption says why, once per reason. "Download CSV" saves the rows with the
 * columns of `python -m simulator sweep --csv`, in its order.
 *
 * `experiments` (exported) is a read-only view for tests: the state, the rows, the uPlot chart.
 */

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { PALETTE, withAlpha } from "./glyphs.js";
import { download } from "./share.js";

const SWEEPABLE = ["loss", "ack_loss", "timeout", "max_retries", "latency_max", "dedup_window",
  "duplicate", "process_fail", "interval"];
const SEMANTICS = ["at-most-once", "at-least-once", "exactly-once"];
const RATES = ["lost", "duplicated", "transmissions", "out_of_order"];
const CLOSED = ["lost", "duplicated", "transmissions"]; // the rates a closed form gives

/** Each semantics' look: a palette colour, a marker shape (told apart without colour). */
const STYLE = {
  "at-most-once": { name: "At-most-once", color: PALETTE.orange, shape: "circle" },
  "at-least-once": { name: "At-least-once", color: PALETTE.blue, shape: "square" },
  "exactly-once": { name: "Exactly-once", color: PALETTE.green, shape: "triangle" },
};
const CLOSED_DASH = [5, 4];

/** What each rate is, on the y axis and in the readout. */
const RATE_AXIS = {
  lost: "Lost per message",
  duplicated: "Duplicated per message",
  transmissions: "Data packets per message",
  out_of_order: "Out of order per message",
};
const NO_CLOSED_OUT_OF_ORDER = "Out of order has no closed form: it depends on the latency's "
  + "spread and the timing of retries.";

/** A suggested range for each setting when it is chosen: [from, to]. */
const RANGES = {
  loss: [0, 0.5], ack_loss: [0, 0.5], duplicate: [0, 0.3], process_fail: [0, 0.3],
  timeout: [500, 4000], max_retries: [0, 8], latency_max: [300, 2000], dedup_window: [0, 20],
  interval: [50, 1000],
};

const $ = (id) => document.getElementById(id);

/** A number for people: up to four significant decimals, no trailing zeros. */
function fmt(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1000) return String(Math.round(v));
  if (a >= 1) return String(Number(v.toFixed(3)));
  return String(Number(v.toPrecision(4)));
}

/** A 95% half-width: two significant digits (the interval is itself uncertain). */
function fmtHalf(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  return String(Number(v.toPrecision(2)));
}

/** A float as Python's repr writes it (the command line's CSV): `0.2`, `1.0`, `5e-06`. */
export function pyFloat(x) {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, e] = x.toExponential().split("e");
  const exp = Number(e);
  if (exp < -4 || exp >= 16) {
    return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const s = String(x);
  return s.includes(".") ? s : `${s}.0`;
}

/** round(x, 6) as Python rounds (the exact binary value, to the nearest). */
const round6 = (x) => Number(x.toFixed(6));

function csvCell(v) {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// ------------------------------------------------------------------ state

let lab = null;
let el = null;
let chart = null; // the uPlot instance (null until the fold is first opened)
let chartKey = ""; // what the chart was built for: rebuilt when it changes
let legendKey = "";
// the sweep shown: {id, setting, label, kind, values, semantics, seeds, messages, total, done,
// rows (Map "value|semantics" -> row), state: running | done | cancelled | failed | lost}
let current = null;
let pending = false; // a sweep_start awaits its answer
let early = []; // events of a sweep not yet known (they came before its answer)
let drawPending = false;
let refused = null; // the last refusal: {field, message}

/** Read-only view for tests and the curious. */
export const experiments = Object.freeze({
  get state() { return current ? current.state : refused ? "refused" : "idle"; },
  get sweep() { return current ? current.id : null; },
  get total() { return current ? current.total : 0; },
  get done() { return current ? current.done : 0; },
  get refused() { return refused ? { ...refused } : null; },
  rows: () => (current ? sortedRows().map((r) => JSON.parse(JSON.stringify(r))) : []),
  get chart() { return chart; },
  /** The chart as drawn: its size in CSS pixels, series and points, the closed-form lines. */
  info() {
    if (!chart) return null;
    const count = (i) => chart.data[i].filter((v) => v != null).length;
    const of = (flag) => chart.series.map((s, i) => ({ s, i })).filter(({ s }) => s[flag])
      .map(({ s, i }) => ({ semantics: s.semantics, points: count(i) }));
    return {
      width: chart.width,
      height: chart.height,
      canvas: { width: chart.ctx.canvas.width, height: chart.ctx.canvas.height },
      series: chart.series.length - 1,
      points: chart.data[0].length,
      measured: of("measured"),
      closed: of("closedForm"),
      marks: lastMarks,
      rate: el.rate.value,
    };
  },
});
let lastMarks = 0; // markers the draw hook drew last

// ------------------------------------------------------------------ wiring

/**
 * Bind the panel to the page's wiring (main.js `lab`): its requests, its events, its session.
 * A follower of a room cannot run sweeps (the server refuses them): the panel is hidden there.
 */
export function bindExperiments(theLab) {
  lab = theLab;
  const section = $("experiments");
  if (!section) return;
  if (document.body.dataset.room) {
    section.hidden = true;
    return;
  }
  el = {
    section,
    form: $("sweep-form"),
    setting: $("sweep-setting"),
    from: $("sweep-from"),
    to: $("sweep-to"),
    points: $("sweep-points"),
    semantics: $("sweep-semantics"),
    seeds: $("sweep-seeds"),
    messages: $("sweep-messages"),
    runs: $("sweep-runs"),
    error: $("sweep-error"),
    run: $("sweep-run"),
    cancel: $("sweep-cancel"),
    progress: $("sweep-progress"),
    status: $("sweep-status"),
    rate: $("sweep-rate"),
    chart: $("sweep-chart"),
    legend: $("sweep-legend"),
    caption: $("sweep-caption"),
    readout: $("sweep-readout"),
    csv: $("sweep-csv"),
    tableHead: $("sweep-table-setting"),
    tableBody: $("sweep-table-body"),
  };
  fillSettings(SWEEPABLE.map((name) => ({ name, label: name })));
  el.setting.addEventListener("change", () => suggestRange(el.setting.value));
  el.form.addEventListener("submit", (e) => {
    e.preventDefault();
    start();
  });
  el.form.addEventListener("input", () => showRuns());
  el.cancel.addEventListener("click", () => cancel());
  el.rate.addEventListener("change", () => scheduleDraw(true));
  el.csv.addEventListener("click", () => saveCsv());
  section.addEventListener("toggle", () => {
    if (section.open) scheduleDraw();
  });
  new ResizeObserver(() => resize()).observe(el.chart);

  lab.on("session", (s) => takeSession(s));
  lab.on("sweep_progress", (d) => heard("progress", d));
  lab.on("sweep_row", (d) => heard("row", d));
  lab.on("sweep_done", (d) => heard("done", d));
  if (lab.session) takeSession(lab.session);
  buildLegend([]);
  showRuns();
}

/** The session's schema labels the settings, its limits bound the sizes. */
function takeSession(s) {
  if (!s || typeof s !== "object") return;
  const schema = Array.isArray(s.schema) ? s.schema : [];
  const fields = SWEEPABLE.map((name) => schema.find((f) => f.name === name)).filter(Boolean);
  if (fields.length) fillSettings(fields);
  const limits = s.limits && typeof s.limits === "object" ? s.limits : {};
  if (Number.isInteger(limits.max_sweep_messages_per_run)) {
    el.messages.max = String(limits.max_sweep_messages_per_run);
    if (Number(el.messages.value) > limits.max_sweep_messages_per_run) {
      el.messages.value = String(limits.max_sweep_messages_per_run);
    }
  }
  el.section.dataset.maxRuns = Number.isInteger(limits.max_sweep_runs) ? String(limits.max_sweep_runs) : "";
  showRuns();
  // a new session (the old one was reaped): a sweep of the old one sends nothing more
  if (!s.resumed && current && current.state === "running") {
    current.state = "lost";
    el.cancel.disabled = true;
    status(`The sweep stopped at ${current.done} of ${current.total} runs: the server started `
      + "a new session for this page.");
  }
}

function fieldOf(name) {
  const schema = (lab.session && lab.session.schema) || [];
  return schema.find((f) => f.name === name) || null;
}

function fillSettings(fields) {
  const chosen = el.setting.value || "loss";
  const key = JSON.stringify(fields.map((f) => [f.name, f.label]));
  if (el.setting.dataset.key === key) return;
  el.setting.dataset.key = key;
  el.setting.replaceChildren(...fields.map((f) => {
    const o = document.createElement("option");
    o.value = f.name;
    o.textContent = f.label || f.name;
    return o;
  }));
  el.setting.value = fields.some((f) => f.name === chosen) ? chosen : fields[0].name;
  stepInputs(el.setting.value);
}

/** The inputs' steps and bounds follow the setting's kind and range. */
function stepInputs(name) {
  const f = fieldOf(name);
  const step = !f ? "any" : f.kind === "prob" ? "0.05" : f.kind === "int" ? "1" : "any";
  for (const input of [el.from, el.to]) {
    input.step = step;
    input.inputMode = f && f.kind === "int" ? "numeric" : "decimal";
    if (f && f.min != null) input.min = String(f.min);
    else input.removeAttribute("min");
    if (f && f.max != null) input.max = String(f.max);
    else input.removeAttribute("max");
  }
}

function suggestRange(name) {
  let [from, to] = RANGES[name] || [0, 1];
  if (name === "latency_max") {
    const min = Number(lab.model.config.latency_min);
    if (Number.isFinite(min) && min > from) from = min;
    if (to <= from) to = from + 1500;
  }
  el.from.value = String(from);
  el.to.value = String(to);
  stepInputs(name);
  showRuns();
}

function checkedSemantics() {
  return [...el.semantics.querySelectorAll("input[name=sweep-semantics]")]
    .filter((c) => c.checked).map((c) => c.value);
}

/** "6 values × 3 semantics × 3 seeds = 54 runs of 5,000 messages", under the form. */
function showRuns() {
  const n = Number(el.points.value);
  const sems = checkedSemantics().length;
  const seeds = Number(el.seeds.value);
  const messages = Number(el.messages.value);
  if (![n, seeds, messages].every((x) => Number.isInteger(x) && x > 0) || !sems) {
    el.runs.textContent = "";
    return;
  }
  const runs = n * sems * seeds;
  const max = Number(el.section.dataset.maxRuns) || 0;
  el.runs.textContent = `${n} values × ${sems} semantics × ${seeds} seeds = `
    + `${runs.toLocaleString("en")} runs of ${messages.toLocaleString("en")} messages`
    + (max ? ` (a sweep may have at most ${max.toLocaleString("en")})` : "") + ".";
  el.runs.dataset.over = max && runs > max ? "true" : "false";
}

// ------------------------------------------------------------------ controls

/** The current run's settings of the plain model, as the sweep's base (its seed the first). */
function baseSettings() {
  const config = lab.model.config || {};
  const schema = (lab.session && lab.session.schema) || [];
  // a preset's run: its own options and its faults (named by its packet kinds) mean nothing
  // to the plain model a sweep runs
  const preset = lab.model.manifest && lab.model.manifest.protocol !== "classic";
  const base = {};
  for (const f of schema) {
    if (f.name === "messages" || f.name === "semantics") continue; // the sweep sets them
    if (f.name === "options" || (preset && f.name === "faults")) continue;
    if (config[f.name] !== undefined && config[f.name] !== null) base[f.name] = config[f.name];
  }
  return base;
}

const FIELD_INPUTS = () => ({
  setting: [el.setting],
  values: [el.from, el.to, el.points],
  semantics: [...el.semantics.querySelectorAll("input")],
  seeds: [el.seeds],
  messages: [el.messages],
});
const FIELD_WORDS = {
  setting: "Setting to vary",
  values: "From, to, points",
  semantics: "Semantics",
  seeds: "Seeds",
  messages: "Messages per run",
};

function clearRefusal() {
  refused = null;
  el.error.textContent = "";
  for (const inputs of Object.values(FIELD_INPUTS())) {
    for (const input of inputs) input.removeAttribute("aria-invalid");
  }
  el.section.dataset.refused = "";
  mark();
}

/** A server's message with the settings' names in the page's words ("Max retries"). */
function inWords(message) {
  let out = String(message);
  for (const f of (lab.session && lab.session.schema) || []) {
    if (!f.label || ["messages", "semantics", "seed"].includes(f.name)) continue;
    out = out.replace(new RegExp(`\\b${f.name}\\b`, "g"), f.label);
  }
  return out;
}

/** A refusal next to the form, naming the field (a base setting by its label). */
function showRefusal(err) {
  const field = typeof err.field === "string" ? err.field : "";
  let message = String(err.message || "refused");
  const lead = field.replace(/^base\./, "");
  if (lead && message.startsWith(`${lead} `)) message = message.slice(lead.length + 1);
  message = inWords(message);
  let words = FIELD_WORDS[field];
  if (!words && field.startsWith("base.")) {
    const name = field.slice(5).replace(/\[\d+\]$/, "");
    words = `This run's ${lab.controls.labelOf(name)} (under Settings)`;
  }
  refused = { field, code: err.code || "", message };
  el.error.textContent = words ? `${words}: ${message}` : message;
  el.section.dataset.refused = field || "true";
  const inputs = FIELD_INPUTS()[field] || [];
  for (const input of inputs) input.setAttribute("aria-invalid", "true");
  if (inputs[0] && inputs[0].focus && document.activeElement === el.run) inputs[0].focus();
  mark();
}

async function start() {
  if (pending) return;
  clearRefusal();
  const numbers = {};
  for (const [name, input, words] of [["from", el.from, "From"], ["to", el.to, "To"],
    ["points", el.points, "Points"], ["seeds", el.seeds, "Seeds"],
    ["messages", el.messages, "Messages per run"]]) {
    const v = input.value.trim() === "" ? NaN : Number(input.value);
    if (!Number.isFinite(v)) {
      showRefusal({ message: `${words}: give a number.` });
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    numbers[name] = v;
  }
  const semantics = checkedSemantics();
  if (!semantics.length) {
    showRefusal({ field: "semantics", message: "choose at least one." });
    return;
  }
  const payload = {
    setting: el.setting.value,
    values: `${numbers.from}:${numbers.to}:${numbers.points}`,
    semantics,
    seeds: numbers.seeds,
    messages: numbers.messages,
    base: baseSettings(),
  };
  pending = true;
  early = [];
  el.run.disabled = true;
  const answer = await lab.send("sweep_start", payload);
  pending = false;
  el.run.disabled = false;
  if (!answer || answer.ok === false) {
    early = [];
    showRefusal((answer && answer.error) || {});
    if (!current) status("The sweep was not started.");
    return;
  }
  begin(answer);
  const held = early.filter(([, d]) => d.sweep === answer.sweep);
  early = [];
  for (const [kind, d] of held) heard(kind, d);
}

function cancel() {
  if (!current || current.state !== "running") return;
  el.cancel.disabled = true;
  lab.send("sweep_cancel", {}).then((answer) => {
    if (answer && answer.ok === false && current && current.state === "running") {
      el.cancel.disabled = false;
      const why = answer.error && answer.error.message ? answer.error.message
        : "the server did not answer";
      status(`Not cancelled: ${why}.`);
    }
  });
}

/** A sweep the server took: show it from scratch. */
function begin(answer) {
  const field = fieldOf(answer.setting);
  current = {
    id: answer.sweep,
    setting: answer.setting,
    label: field && field.label ? field.label : answer.setting,
    kind: field ? field.kind : "float",
    values: Array.isArray(answer.values) ? answer.values.map(Number) : [],
    semantics: Array.isArray(answer.semantics) ? answer.semantics : [],
    seeds: answer.seeds,
    messages: answer.messages,
    total: answer.total,
    done: 0,
    rows: new Map(), // "value|semantics" -> row
    state: "running",
  };
  el.section.dataset.sweep = String(current.id);
  el.progress.max = Math.max(1, current.total);
  el.progress.value = 0;
  el.cancel.disabled = false;
  el.csv.disabled = true;
  el.tableHead.textContent = current.label;
  el.readout.replaceChildren();
  status(`0 of ${current.total} runs`);
  scheduleDraw(true);
}

/** A sweep event: only those of the sweep shown (held while a new one awaits its answer). */
function heard(kind, d) {
  if (!d || typeof d !== "object") return;
  if (!current || d.sweep !== current.id) {
    if (pending) early.push([kind, d]);
    return;
  }
  if (current.state !== "running") return; // nothing of a sweep follows its end
  if (kind === "progress") {
    if (typeof d.done === "number") current.done = Math.max(current.done, d.done);
    if (typeof d.total === "number") current.total = d.total;
    el.progress.max = Math.max(1, current.total);
    el.progress.value = current.done;
    status(`${current.done} of ${current.total} runs`);
  } else if (kind === "row") {
    const row = d.row;
    if (!row || typeof row !== "object" || typeof row.value !== "number") return;
    current.rows.set(`${row.value}|${row.semantics}`, row);
    el.csv.disabled = false;
    el.section.dataset.rows = String(current.rows.size);
    status(`${current.done} of ${current.total} runs`);
    scheduleDraw();
  } else if (kind === "done") {
    const rows = current.rows.size;
    const expected = current.values.length * current.semantics.length;
    el.cancel.disabled = true;
    if (d.error && typeof d.error === "object") {
      current.state = "failed";
      status(`Stopped at ${current.done} of ${current.total} runs (${rows} of ${expected} rows): `
        + `${inWords(d.error.message || "the server could not run it")}.`);
    } else if (d.cancelled) {
      current.state = "cancelled";
      status(`Cancelled at ${current.done} of ${current.total} runs: ${rows} of ${expected} rows.`);
    } else {
      current.state = "done";
      el.progress.value = el.progress.max;
      const missed = Math.max(0, (typeof d.rows === "number" ? d.rows : expected) - rows);
      const lost = missed === 1 ? "1 row was" : `${missed} rows were`;
      status(`Done: ${current.total} runs, ${rows} rows.` + (missed ? ` ${lost} lost while the `
        + "connection was down: run the sweep again for the whole table." : ""));
    }
    scheduleDraw();
  }
}

function status(text) {
  el.status.textContent = text;
  mark();
}

/** The panel's state on its section, for tests and styles: `data-state`, `data-rows`. */
function mark() {
  el.section.dataset.state = experiments.state;
  el.section.dataset.rows = String(current ? current.rows.size : 0);
}

// ------------------------------------------------------------------ rows, table, CSV

/** The rows in the command line's order: by value, then semantics as asked. */
function sortedRows() {
  if (!current) return [];
  const out = [];
  for (const v of current.values) {
    for (const s of current.semantics) {
      const row = current.rows.get(`${v}|${s}`);
      if (row) out.push(row);
    }
  }
  // a row whose value is not in the answer's list (never, but do not lose it)
  for (const row of current.rows.values()) if (!out.includes(row)) out.push(row);
  return out;
}

function rowAt(value, semantics) {
  return current ? current.rows.get(`${value}|${semantics}`) || null : null;
}

function valueText(v) {
  return current && current.kind === "int" ? String(Math.round(v)) : fmt(v);
}

function renderTable(rate) {
  const rows = sortedRows();
  el.tableBody.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    const cells = [
      valueText(row.value),
      (STYLE[row.semantics] || { name: row.semantics }).name,
      `${fmt(row.mean[rate])} ± ${fmtHalf(row.half[rate])}`,
      row.expected && rate in row.expected ? fmt(row.expected[rate])
        : rate === "out_of_order" ? "none" : `none: ${row.why_not}`,
    ];
    cells.forEach((text, i) => {
      const td = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) td.scope = "row";
      td.textContent = text;
      tr.append(td);
    });
    return tr;
  }));
}

/** The rows as `python -m simulator sweep --csv` writes them: same columns, same order. */
export function csvText(rows, setting, kind) {
  const head = [setting, "semantics", ...RATES.map((k) => `${k}_mean`),
    ...RATES.map((k) => `${k}_ci95`), "expected_lost", "expected_duplicated",
    "expected_transmissions", "no_closed_form"];
  const lines = [head.map(csvCell).join(",")];
  for (const row of rows) {
    const exp = row.expected || {};
    const value = kind === "int" ? String(Math.round(row.value)) : pyFloat(row.value);
    const cells = [value, row.semantics, ...RATES.map((k) => pyFloat(round6(row.mean[k]))),
      ...RATES.map((k) => pyFloat(round6(row.half[k]))),
      ...CLOSED.map((k) => (k in exp ? pyFloat(round6(exp[k])) : "")), row.why_not || ""];
    lines.push(cells.map(csvCell).join(","));
  }
  return `${lines.join("\n")}\n`;
}

function saveCsv() {
  if (!current || !current.rows.size) return;
  const text = csvText(sortedRows(), current.setting, current.kind);
  const name = `delivery-lab-sweep-${current.setting}.csv`;
  download(new Blob([text], { type: "text/csv" }), name);
  el.status.textContent = `${el.status.textContent.replace(/ Saved .*$/, "")} Saved ${name}.`;
}

// ------------------------------------------------------------------ the chart

function scheduleDraw(rebuild = false) {
  if (rebuild) chartKey = "";
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    draw();
  });
}

function chartSize() {
  const width = Math.floor(el.chart.clientWidth);
  const height = Math.round(Math.min(340, Math.max(230, width * 0.62)));
  return { width, height };
}

function resize() {
  if (!chart) {
    if (el.section.open) scheduleDraw();
    return;
  }
  const { width, height } = chartSize();
  if (width <= 0) return;
  if (xLabel(width) !== chart.axes[0].label) scheduleDraw(true); // the short label, or back
  else if (width !== chart.width || height !== chart.height) chart.setSize({ width, height });
}

/** An x tick: a whole number for an int setting (none between two), else the value. */
function xTick(v) {
  if (current && current.kind === "int") return Number.isInteger(v) ? String(v) : "";
  return fmt(v);
}

/** x label: the setting's label, with its unit ("Data loss (probability)"; ms in the label). */
function xLabel(width = 400) {
  if (!current) return "Swept setting";
  if (current.kind === "prob") return `${current.label} (${width < 240 ? "prob." : "probability"})`;
  return current.label;
}

/** The series' data: x the values, then per semantics its measured means and closed form. */
function seriesData(rate) {
  const xs = current ? current.values.slice() : [];
  const sems = current ? current.semantics : [];
  const data = [xs];
  for (const s of sems) {
    data.push(xs.map((v) => {
      const row = rowAt(v, s);
      return row ? row.mean[rate] : null;
    }));
    data.push(xs.map((v) => {
      const row = rowAt(v, s);
      return row && row.expected && rate in row.expected ? row.expected[rate] : null;
    }));
  }
  return data;
}

function yRange(rate) {
  let hi = 0;
  for (const row of current ? current.rows.values() : []) {
    hi = Math.max(hi, row.mean[rate] + (row.half[rate] || 0));
    if (row.expected && rate in row.expected) hi = Math.max(hi, row.expected[rate]);
  }
  return [0, hi > 0 ? hi * 1.08 : 1];
}

function xRange() {
  const xs = current ? current.values : [];
  if (!xs.length) return [0, 1];
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const pad = hi > lo ? (hi - lo) * 0.05 : Math.max(Math.abs(lo) * 0.1, 0.5);
  return [lo - pad, hi + pad];
}

/** Room for the tick labels (uPlot's documented pattern), in CSS pixels. */
function axisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values || []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
  if (longest) {
    u.ctx.font = axis.font[0];
    size += u.ctx.measureText(longest).width / uPlot.pxRatio;
  }
  return Math.ceil(size);
}

function build(rate) {
  const { width, height } = chartSize();
  if (width <= 0) return;
  if (chart) chart.destroy();
  const sems = current ? current.semantics : [];
  const series = [{ label: xLabel(width) }];
  for (const s of sems) {
    const st = STYLE[s] || { name: s, color: PALETTE.text };
    series.push({
      label: `${st.name} (measured)`, stroke: withAlpha(st.color, 0.65), width: 1.25,
      points: { show: false }, spanGaps: false, measured: true, semantics: s,
    });
    series.push({
      label: `${st.name} (closed form)`, stroke: st.color, width: 1.5, dash: CLOSED_DASH,
      points: { show: false }, spanGaps: false, closedForm: true, semantics: s,
    });
  }
  const axisStyle = {
    stroke: PALETTE.muted,
    font: "12px system-ui, sans-serif",
    labelFont: "600 12px system-ui, sans-serif",
    grid: { stroke: PALETTE.grid, width: 1 },
    ticks: { stroke: PALETTE.laneLine, width: 1, size: 4 },
    border: { show: true, stroke: PALETTE.laneLine, width: 1 },
  };
  chart = new uPlot({
    width,
    height,
    padding: [10, 12, 0, 0],
    legend: { show: false },
    cursor: {
      y: false,
      points: { show: false },
      drag: { x: false, y: false, setScale: false },
      move: snap, // the cursor's line stands on the nearest value, as the readout does
    },
    scales: {
      x: { time: false, range: () => xRange() },
      y: { range: () => yRange(el.rate.value) },
    },
    axes: [
      { ...axisStyle, label: xLabel(width), labelSize: 20, labelGap: 2, size: 28,
        values: (u, splits) => splits.map((v) => xTick(v)) },
      { ...axisStyle, label: RATE_AXIS[rate], labelSize: 20, labelGap: 2, size: axisSize,
        values: (u, splits) => splits.map((v) => fmt(v)) },
    ],
    series,
    hooks: {
      draw: [drawMarks],
      setCursor: [readout],
    },
  }, seriesData(rate), el.chart);
}

/** The cursor at the nearest swept value (CSS pixels of the plot). */
function snap(u, left, top) {
  const xs = u.data[0];
  if (!xs.length || left < 0) return [left, top];
  const idx = u.posToIdx(left);
  return idx == null || xs[idx] == null ? [left, top] : [Math.round(u.valToPos(xs[idx], "x")), top];
}

/** The markers and 95% error bars of the rows, over the lines uPlot drew. */
function drawMarks(u) {
  const rate = el.rate.value;
  const ctx = u.ctx;
  const px = uPlot.pxRatio;
  const { left, top, width, height } = u.bbox;
  let marks = 0;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  for (const s of current ? current.semantics : []) {
    const st = STYLE[s] || { color: PALETTE.text, shape: "circle" };
    for (const v of current.values) {
      const row = rowAt(v, s);
      if (!row) continue;
      const m = row.mean[rate];
      const h = row.half[rate] || 0;
      const x = u.valToPos(v, "x", true);
      const y = u.valToPos(m, "y", true);
      if (h > 0) {
        const y0 = u.valToPos(m - h, "y", true);
        const y1 = u.valToPos(m + h, "y", true);
        const cap = 4 * px;
        ctx.beginPath();
        ctx.moveTo(x, y0);
        ctx.lineTo(x, y1);
        ctx.moveTo(x - cap, y0);
        ctx.lineTo(x + cap, y0);
        ctx.moveTo(x - cap, y1);
        ctx.lineTo(x + cap, y1);
        ctx.setLineDash([]);
        ctx.strokeStyle = st.color;
        ctx.lineWidth = 1.5 * px;
        ctx.stroke();
      }
      marker(ctx, st.shape, x, y, 4.5 * px, st.color, px);
      marks++;
    }
  }
  ctx.restore();
  lastMarks = marks;
}

function marker(ctx, shape, x, y, r, color, px) {
  ctx.beginPath();
  if (shape === "square") {
    const a = r * 0.9;
    ctx.rect(x - a, y - a, 2 * a, 2 * a);
  } else if (shape === "triangle") {
    const a = r * 1.25;
    ctx.moveTo(x, y - a);
    ctx.lineTo(x + a * 0.95, y + a * 0.7);
    ctx.lineTo(x - a * 0.95, y + a * 0.7);
    ctx.closePath();
  } else {
    ctx.arc(x, y, r, 0, 2 * Math.PI);
  }
  ctx.setLineDash([]);
  ctx.fillStyle = color;
  ctx.fill();
  ctx.strokeStyle = PALETTE.background;
  ctx.lineWidth = 1.25 * px;
  ctx.stroke();
}

/** Hovering the chart: the numbers at the nearest value, one line per semantics. */
function readout(u) {
  const idx = u.cursor.idx;
  if (idx == null || !current || !current.values.length) {
    el.readout.replaceChildren();
    return;
  }
  const rate = el.rate.value;
  const v = current.values[idx];
  const lines = [`${current.label} ${valueText(v)}:`];
  for (const s of current.semantics) {
    const row = rowAt(v, s);
    const name = (STYLE[s] || { name: s }).name;
    if (!row) {
      lines.push(`${name}: not measured yet`);
      continue;
    }
    const closed = row.expected && rate in row.expected ? `, closed form ${fmt(row.expected[rate])}` : "";
    lines.push(`${name}: ${fmt(row.mean[rate])} ± ${fmtHalf(row.half[rate])}${closed}`);
  }
  el.readout.replaceChildren(...lines.map((t) => {
    const span = document.createElement("span");
    span.textContent = t;
    return span;
  }));
}

/** Below the chart: each semantics' marker, then the bar and the dashed line. */
function buildLegend(sems) {
  const items = [];
  const sample = (paint, w = 34, h = 16) => {
    const c = document.createElement("canvas");
    const px = window.devicePixelRatio || 1;
    c.width = Math.round(w * px);
    c.height = Math.round(h * px);
    c.className = "sweep-swatch";
    const ctx = c.getContext("2d");
    ctx.scale(px, px);
    paint(ctx, w, h);
    return c;
  };
  const item = (canvas, text) => {
    const li = document.createElement("li");
    const span = document.createElement("span");
    span.textContent = text;
    li.append(canvas, span);
    items.push(li);
  };
  for (const s of sems) {
    const st = STYLE[s] || { name: s, color: PALETTE.text, shape: "circle" };
    item(sample((ctx, w, h) => {
      ctx.beginPath();
      ctx.moveTo(2, h / 2);
      ctx.lineTo(w - 2, h / 2);
      ctx.strokeStyle = withAlpha(st.color, 0.65);
      ctx.lineWidth = 1.25;
      ctx.stroke();
      marker(ctx, st.shape, w / 2, h / 2, 4.5, st.color, 1);
    }), st.name);
  }
  item(sample((ctx, w, h) => {
    ctx.beginPath();
    ctx.moveTo(w / 2, 2);
    ctx.lineTo(w / 2, h - 2);
    ctx.moveTo(w / 2 - 4, 2);
    ctx.lineTo(w / 2 + 4, 2);
    ctx.moveTo(w / 2 - 4, h - 2);
    ctx.lineTo(w / 2 + 4, h - 2);
    ctx.strokeStyle = PALETTE.muted;
    ctx.lineWidth = 1.5;
    ctx.stroke();
    marker(ctx, "circle", w / 2, h / 2, 3.5, PALETTE.muted, 1);
  }), current ? `mean of ${current.seeds} seed${current.seeds === 1 ? "" : "s"}, 95% interval`
    : "mean over the seeds, 95% interval");
  item(sample((ctx, w, h) => {
    ctx.beginPath();
    ctx.moveTo(2, h / 2);
    ctx.lineTo(w - 2, h / 2);
    ctx.setLineDash(CLOSED_DASH);
    ctx.strokeStyle = PALETTE.muted;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }), "closed form");
  el.legend.replaceChildren(...items);
}

/** Where no closed form is drawn, why: once per reason, naming the semantics it concerns. */
function caption(rate) {
  if (!current) return "Run a sweep: its rows are drawn here as they come in.";
  if (rate === "out_of_order") return NO_CLOSED_OUT_OF_ORDER;
  const why = new Map(); // reason -> {sems: Set of names, values: Set}
  for (const row of sortedRows()) {
    if (row.expected) continue;
    const reason = row.why_not || "no closed form holds here";
    if (!why.has(reason)) why.set(reason, { sems: new Set(), values: new Set() });
    why.get(reason).sems.add((STYLE[row.semantics] || { name: row.semantics }).name);
    why.get(reason).values.add(row.value);
  }
  const notes = [...why].map(([reason, { sems, values }]) => {
    const where = values.size < current.values.length
      ? ` at ${current.label} ${[...values].map(valueText).join(", ")}` : "";
    return `No closed form for ${[...sems].join(", ")}${where}: ${reason}.`;
  });
  // two semantics that measured the same at every value: the later one's marks hide the other's
  const sems = current.semantics;
  for (let i = 0; i < sems.length; i++) {
    for (let j = i + 1; j < sems.length; j++) {
      const pairs = current.values.map((v) => [rowAt(v, sems[i]), rowAt(v, sems[j])])
        .filter(([a, b]) => a && b);
      if (pairs.length && pairs.every(([a, b]) => a.mean[rate] === b.mean[rate])) {
        const name = (s) => (STYLE[s] || { name: s }).name;
        notes.push(`${name(sems[i])} and ${name(sems[j])} measured the same here: the ${
          SHAPE_WORD[(STYLE[sems[j]] || {}).shape] || "marks"} hide the ${
          SHAPE_WORD[(STYLE[sems[i]] || {}).shape] || "marks"}.`);
      }
    }
  }
  return notes.join(" ");
}
const SHAPE_WORD = { circle: "circles", square: "squares", triangle: "triangles" };

function draw() {
  if (!el) return;
  const rate = el.rate.value;
  const key = JSON.stringify([current && current.id, rate, current && current.semantics]);
  const rows = current ? current.rows.size : 0;
  const expected = current ? current.values.length * current.semantics.length : 0;
  el.caption.textContent = caption(rate);
  renderTable(rate);
  el.chart.setAttribute("aria-label", current
    ? `Chart of ${RATE_AXIS[rate].toLowerCase()} against ${current.label}, one series per `
      + `semantics: ${rows} of ${expected} rows. The numbers are under “Rows as a table”.`
    : "Sweep chart: no rows yet.");
  if (key !== legendKey) {
    buildLegend(current ? current.semantics : []);
    legendKey = key;
  }
  if (!el.section.open || el.chart.clientWidth <= 0) return; // drawn when the fold opens
  if (!chart || key !== chartKey) {
    build(rate);
    chartKey = key;
  } else {
    chart.setData(seriesData(rate));
  }
}
