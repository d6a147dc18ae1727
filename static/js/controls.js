/**
 * Controls: what the learner steers, built from the server's settings schema.
 *
 * Transport (play/pause, step, step back, speed, reset, seed), the two radio groups that change
 * the rules live ("Delivery semantics", "Ordering"), an input for every other setting the run's
 * protocol reads (the manifest's `fields`; advanced ones folded in a <details>), a button per
 * node action the manifest offers (crash and restart of each crashable node, named by the node's
 * label), the model picker (the plain model or a protocol preset: choosing one starts a new run) with
 * the chosen protocol's own options (the manifest's `options`, each fixed for a run), and the
 * keyboard shortcuts (Space play/pause, ArrowRight step, ArrowLeft step back). Live settings go out as `configure`
 * the moment they change; settings fixed for a run go out with "Start a new run". The server's
 * advice (`state.advice`) is shown next to the field it names, the retry horizon next to the gap
 * timeout. While a trace file is replayed every control that would change a run is disabled, and
 * says why.
 */

/** How the page words a choice; the schema's own wording (`choice_labels`) wins. */
const CHOICE_LABELS = {
  "at-most-once": "At-most-once",
  "at-least-once": "At-least-once",
  "exactly-once": "Exactly-once",
  none: "None",
  sequence: "Sequence numbers",
  "state-machine": "State machine",
  fixed: "Fixed",
  exponential: "Exponential",
  memory: "In memory",
  durable: "Durable",
  add: "Add 10 each time",
  idempotent: "Idempotent",
  atomic: "Atomic (with the effect)",
  before: "Before the effect",
  after: "After the effect",
  "to-state": "To-state",
  "from-to": "From-to",
};
const RADIO_FIELDS = ["semantics", "ordering"];
const SKIP_FIELDS = new Set([...RADIO_FIELDS, "seed"]);
export const SPEEDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50];

function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || target.isContentEditable;
}

function choiceValue(c) {
  return c && typeof c === "object" ? c.value : c;
}

/** A choice as the page shows it: the schema's wording, else the page's, else the value. */
export function choiceWording(f, value) {
  const v = String(value);
  if (f && f.choice_labels && typeof f.choice_labels[v] === "string") return f.choice_labels[v];
  if (f && Array.isArray(f.choices)) {
    const c = f.choices.find((x) => x && typeof x === "object" && x.value === value);
    if (c && typeof c.label === "string") return c.label;
  }
  return CHOICE_LABELS[v] || v;
}

/** A node action's button: "Crash consumer" (the node's label, in the sentence's case). */
export function actionWording(action, label) {
  const verb = action.charAt(0).toUpperCase() + action.slice(1);
  const name = /^[A-Z][a-z]/.test(label) ? label.charAt(0).toLowerCase() + label.slice(1) : label;
  return `${verb} ${name}`;
}

function stepFor(f) {
  if (f.kind === "prob") return "0.05";
  if (f.kind === "int") return "1";
  return f.max && f.max > 5000 ? "50" : "1";
}

export class Controls {
  /**
   * @param {Document} doc
   * @param {{send: (name: string, payload?: object) => Promise<object>, model: object,
   *          notify: (text: string, kind?: string) => void, onChange?: Function}} deps
   */
  constructor(doc, deps) {
    this.doc = doc;
    this.deps = deps;
    this.schema = [];
    this.fields = null; // the settings the run's protocol reads (null: every one)
    this.optionFields = []; // the run's protocol's own options, as fields named `options.NAME`
    this.protocol = ""; // the run's protocol, by name
    this._built = "";
    this.inputs = new Map();
    this.nodeButtons = []; // [{button, node, action}]
    const $ = (id) => doc.getElementById(id);
    this.el = {
      play: $("play"),
      step: $("step"),
      stepBack: $("step-back"),
      reset: $("reset"),
      speed: $("speed"),
      seed: $("seed"),
      semantics: $("semantics-group"),
      ordering: $("ordering-group"),
      basic: $("settings-basic"),
      advanced: $("settings-advanced"),
      start: $("start-run"),
      nodeActions: $("node-actions"),
      protocol: $("protocol-select"),
      advancedSummary: $("advanced-summary"),
      semanticsAdvice: null, // built with the radio groups
      orderingAdvice: null,
    };
    this.readOnly = null; // a reason while a trace file is replayed
    this.open = null; // a lesson step: the controls it leaves open (null: every one)
    this.restriction = "";
    this.restrictionId = null;
    this.asked = new Map(); // radio group -> the choice asked for, until the run shows it
    this._adviceKey = "";
    for (const s of SPEEDS) {
      const o = doc.createElement("option");
      o.value = String(s);
      o.textContent = `${s}×`;
      this.el.speed.append(o);
    }
    this.el.speed.value = "1";
    this._bind();
  }

  _bind() {
    const { el, deps } = this;
    el.play.addEventListener("click", () => this.togglePlay());
    el.step.addEventListener("click", () => this.step());
    el.stepBack.addEventListener("click", () => this.stepBack());
    el.reset.addEventListener("click", () => this.reset());
    el.speed.addEventListener("change", () => {
      this.send("set_speed", { speed: Number(el.speed.value) });
    });
    el.start.addEventListener("click", () => this.startRun());
    el.protocol?.addEventListener("change", () => this.pickProtocol(el.protocol.value));
    el.seed.addEventListener("input", () => {
      this._seedTouched = true;
    });
    this.doc.addEventListener("keydown", (e) => this._shortcut(e));
    void deps;
  }

  /** Space / ArrowRight / ArrowLeft anywhere except where they already mean something. */
  _shortcut(e) {
    if (this.readOnly) return;
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || isTyping(e.target)) return;
    const t = e.target;
    const onButton = t instanceof HTMLElement && (t.tagName === "BUTTON" || t.tagName === "SUMMARY"
      || t.tagName === "A");
    if (e.key === " " && !onButton) {
      e.preventDefault();
      if (this.allows("play")) this.togglePlay();
    } else if (e.key === "ArrowRight") {
      e.preventDefault();
      if (this.allows("step")) this.step();
    } else if (e.key === "ArrowLeft") {
      e.preventDefault();
      if (this.allows("step_back")) this.stepBack();
    }
  }

  /**
   * A lesson step leaves some controls open and locks the others (`open`: a Set of setting names
   * and "play", "step", "step_back", "crash", "start" (a new run, reset), "packet" (faults on a
   * packet in flight)); `reason` says why, as each locked control's title and description (the
   * element `reasonId`). null: every control is open again. Speed always stays open.
   */
  restrict(open, reason = "", reasonId = null) {
    if (!open) {
      for (const c of this.doc.querySelectorAll("[data-lesson-lock]")) this._unlockOne(c);
    }
    this.open = open ? new Set(open) : null;
    this.restriction = reason;
    this.restrictionId = reasonId;
    this.sync(this.deps.model);
  }

  /**
   * A lesson step's view of the controls: those named in `hidden` are hidden with the row or
   * group they sit in (not about this step), the others shown; a folded group holding a control
   * the step leaves open (`open`) is unfolded, so what the step asks for is in sight.
   */
  present(hidden = [], open = []) {
    const hide = new Set(hidden);
    const show = new Set(open);
    for (const c of this.doc.querySelectorAll("[data-lesson-hidden]")) {
      c.hidden = false;
      delete c.dataset.lessonHidden;
    }
    for (const [c, name] of this._named()) {
      const box = c.closest(".field, fieldset.radios") || c;
      if (hide.has(name)) {
        box.hidden = true;
        box.dataset.lessonHidden = "1";
      } else if (show.has(name)) {
        const folded = c.closest("details");
        if (folded) folded.open = true;
      }
    }
  }

  /** Whether a lesson step leaves the control `name` open. */
  allows(name) {
    return !this.open || this.open.has(name);
  }

  /** Each control that would change a run, with the name a lesson step opens it by. */
  _named() {
    const { el } = this;
    const out = [[el.play, "play"], [el.step, "step"], [el.stepBack, "step_back"],
      [el.reset, "start"], [el.start, "start"], [el.seed, "seed"]];
    if (el.protocol) out.push([el.protocol, "start"]);
    for (const { button } of this.nodeButtons) out.push([button, "crash"]);
    for (const r of this.doc.querySelectorAll("input[name=semantics], input[name=ordering]")) {
      out.push([r, r.name]);
    }
    for (const [name, input] of this.inputs) out.push([input, name]);
    const trace = this.doc.getElementById("trace-file");
    if (trace) out.push([trace, "trace"]);
    return out;
  }

  _applyRestriction() {
    if (!this.open) return;
    for (const [c, name] of this._named()) {
      if (this.open.has(name)) {
        // play, step and the node buttons keep the state sync just gave them
        this._unlockOne(c, !["play", "step", "crash"].includes(name));
        continue;
      }
      c.disabled = true;
      if (c.dataset.lessonLock) continue;
      c.dataset.lessonLock = "1";
      c.title = this.restriction;
      if (this.restrictionId) {
        const described = (c.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        c.setAttribute("aria-describedby", [...described, this.restrictionId].join(" "));
      }
    }
  }

  _unlockOne(c, enable = true) {
    if (!c.dataset.lessonLock) return;
    delete c.dataset.lessonLock;
    if (enable) c.disabled = false;
    c.removeAttribute("title");
    const described = (c.getAttribute("aria-describedby") || "").split(" ")
      .filter((x) => x && x !== this.restrictionId);
    if (described.length) c.setAttribute("aria-describedby", described.join(" "));
    else c.removeAttribute("aria-describedby");
  }

  async send(name, payload = {}) {
    if (this.readOnly) {
      this.deps.notify(this.readOnly, "error");
      return { ok: false, error: { message: this.readOnly } };
    }
    const answer = await this.deps.send(name, payload);
    if (answer && answer.ok === false) {
      const err = answer.error || {};
      this.deps.notify(err.message ? this.explain(err) : `The server refused ${name}.`, "error");
    }
    return answer;
  }

  /** A setting's name as the page shows it ("Data loss" for `loss`). */
  labelOf(name) {
    if (name === "seed") return "Seed";
    const f = this.schema.find((x) => x.name === name)
      || this.optionFields.find((x) => x.name === name);
    return f && f.label ? f.label : name;
  }

  /** A choice's value as the page words it ("In memory" for dedup_store `memory`). */
  choiceOf(name, value) {
    const f = this.schema.find((x) => x.name === name);
    if (f && f.kind === "choice") return choiceWording(f, value);
    if (Array.isArray(value)) return value.length ? value.join(" ") : "none";
    return value === null || value === undefined ? "none" : String(value);
  }

  /** A server error in the page's words: field names become the labels next to the inputs. */
  explain(err) {
    let message = String(err.message || "refused");
    for (const f of this.schema) {
      if (f.label) message = message.replace(new RegExp(`\\b${f.name}\\b`, "g"), f.label);
    }
    return err.field ? `${this.labelOf(err.field)}: ${message}` : message;
  }

  togglePlay() {
    return this.send(this.deps.model.playing ? "pause" : "resume");
  }

  async step() {
    if (this.deps.model.playing) await this.send("pause");
    return this.send("step");
  }

  stepBack() {
    return this.send("step_back", {});
  }

  reset() {
    const seed = Number(this.el.seed.value);
    const payload = {};
    if (this.el.seed.value !== "" && Number.isInteger(seed) && seed !== this.deps.model.config.seed) {
      payload.seed = seed;
    }
    return this.send("reset", payload);
  }

  /** Every setting as the inputs show it now (for a new run). */
  values() {
    const out = {};
    for (const f of this.schema) {
      if (RADIO_FIELDS.includes(f.name)) {
        const checked = this.doc.querySelector(`input[name="${f.name}"]:checked`);
        if (checked) out[f.name] = checked.value;
        continue;
      }
      const input = f.name === "seed" ? this.el.seed : this.inputs.get(f.name);
      if (!input) continue;
      const v = this._read(f, input);
      if (v !== undefined) out[f.name] = v;
    }
    if (this.optionFields.length) {
      out.options = {};
      for (const f of this.optionFields) {
        const input = this.inputs.get(f.name);
        const v = input ? this._read(f, input) : undefined;
        if (v !== undefined) out.options[f.option] = v;
      }
    }
    return out;
  }

  startRun() {
    return this.send("start", { config: this.values() });
  }

  _read(f, input) {
    if (f.kind === "bool") return input.checked;
    if (f.kind === "choice") return input.value;
    if (f.kind === "faults") return input.value.split(/[\s,]+/).filter(Boolean);
    if (input.value.trim() === "") return undefined;
    return Number(input.value);
  }

  /**
   * Take the run's manifest (manifest.js): a button per node action it offers (`crash-consumer`,
   * `restart-consumer`, ...: the action, then the node), and the settings its protocol reads.
   */
  setManifest(manifest) {
    const actions = manifest.nodeActions;
    const key = JSON.stringify(actions);
    if (key !== this._actionsKey) {
      this._actionsKey = key;
      this.nodeButtons = [];
      const buttons = [];
      for (const { node, label, actions: names } of actions) {
        for (const action of names) {
          const button = this.doc.createElement("button");
          button.type = "button";
          button.id = `${action}-${node}`;
          button.textContent = actionWording(action, label);
          button.dataset.node = node;
          button.dataset.action = action;
          button.disabled = action === "restart";
          button.addEventListener("click", () => this.send("inject", { action, node }));
          this.nodeButtons.push({ button, node, action });
          buttons.push(button);
        }
      }
      this.el.nodeActions.replaceChildren(...buttons);
      this.el.nodeActions.hidden = buttons.length === 0;
    }
    this.fields = manifest.fields;
    this.protocol = manifest.protocol;
    const options = Array.isArray(manifest.raw.options) ? manifest.raw.options : [];
    this.optionFields = options.filter((f) => f && typeof f.name === "string")
      .map((f) => ({ ...f, option: f.name, name: `options.${f.name}`, live: false }));
    if (this.el.protocol && this.protocol) this.el.protocol.value = this.protocol;
    if (this.schema.length) this.build(this.schema);
  }

  /** The protocols a run may name (the session's `protocols`): the model picker's choices. */
  setProtocols(list) {
    const select = this.el.protocol;
    if (!select || !Array.isArray(list)) return;
    const key = JSON.stringify(list);
    if (key === this._protocolsKey) return;
    this._protocolsKey = key;
    select.replaceChildren(...list.filter((p) => p && typeof p.name === "string").map((p) => {
      const o = this.doc.createElement("option");
      o.value = p.name;
      o.textContent = p.name === "classic" ? `Plain: ${p.title.toLowerCase()}` : p.title;
      return o;
    }));
    if (this.protocol) select.value = this.protocol;
  }

  /** Switch the model: a new run of that protocol on its own defaults (the seed kept). */
  pickProtocol(name) {
    const seed = Number(this.el.seed.value);
    const config = Number.isInteger(seed) && this.el.seed.value !== "" ? { seed } : {};
    return this.send("start", { protocol: name, config }).then((answer) => {
      if (answer && answer.ok === false && this.el.protocol) this.el.protocol.value = this.protocol;
      return answer;
    });
  }

  /** Whether the run's protocol reads the setting `name`. */
  reads(name) {
    return !this.fields || this.fields.has(name);
  }

  /** Build the radio groups and the settings inputs from the schema (once per schema). */
  build(schema) {
    if (!Array.isArray(schema)) return;
    const key = JSON.stringify([schema, this.fields ? [...this.fields] : null, this.optionFields]);
    if (key === this._built) return;
    this._built = key;
    this.schema = schema;
    this._adviceKey = "";
    this.inputs.clear();
    this.el.basic.replaceChildren();
    this.el.advanced.replaceChildren();
    for (const name of RADIO_FIELDS) {
      const f = schema.find((x) => x.name === name);
      const group = name === "semantics" ? this.el.semantics : this.el.ordering;
      group.hidden = !f || !this.reads(name);
      if (f && this.reads(name)) this._radios(f, group);
    }
    const seedField = schema.find((x) => x.name === "seed");
    if (seedField) {
      this.el.seed.min = String(seedField.min ?? 0);
      if (seedField.max != null) this.el.seed.max = String(seedField.max);
    }
    // the protocol's own options first: they are what a preset is about
    for (const f of this.optionFields) {
      (f.advanced ? this.el.advanced : this.el.basic).append(this._field(f));
    }
    for (const f of schema) {
      if (SKIP_FIELDS.has(f.name) || !this.reads(f.name)) continue;
      (f.advanced ? this.el.advanced : this.el.basic).append(this._field(f));
    }
  }

  _radios(f, group) {
    const legend = group.querySelector("legend");
    group.replaceChildren(legend);
    for (const c of f.choices || []) {
      const choice = choiceValue(c);
      const label = this.doc.createElement("label");
      label.className = "radio";
      const input = this.doc.createElement("input");
      input.type = "radio";
      input.name = f.name;
      input.value = choice;
      input.addEventListener("change", () => {
        if (input.checked) this._configure(f, choice, input);
      });
      const span = this.doc.createElement("span");
      span.textContent = choiceWording(f, choice);
      label.append(input, span);
      group.append(label);
    }
    const help = this.doc.createElement("p");
    help.className = "help";
    help.textContent = f.help || "";
    group.append(help);
    const advice = this.doc.createElement("p");
    advice.className = "advice";
    advice.id = `${f.name}-advice`;
    advice.hidden = true;
    group.append(advice);
    group.setAttribute("aria-describedby", advice.id);
    this.el[`${f.name}Advice`] = advice;
  }

  _field(f) {
    const doc = this.doc;
    const wrap = doc.createElement("div");
    wrap.className = "field";
    const id = `set-${f.name}`;
    const label = doc.createElement("label");
    label.htmlFor = id;
    label.textContent = f.label + (f.live ? "" : " (new run)");
    let input;
    if (f.kind === "choice") {
      input = doc.createElement("select");
      for (const c of f.choices || []) {
        const o = doc.createElement("option");
        o.value = choiceValue(c);
        o.textContent = choiceWording(f, choiceValue(c));
        input.append(o);
      }
    } else if (f.kind === "bool") {
      input = doc.createElement("input");
      input.type = "checkbox";
    } else if (f.kind === "faults") {
      input = doc.createElement("input");
      input.type = "text";
      input.placeholder = "drop:data:3 crash:consumer@4000";
      input.spellcheck = false;
      input.autocomplete = "off";
    } else {
      input = doc.createElement("input");
      input.type = "number";
      input.inputMode = f.kind === "int" ? "numeric" : "decimal";
      if (f.min != null) input.min = String(f.min);
      if (f.max != null) input.max = String(f.max);
      input.step = stepFor(f);
    }
    input.id = id;
    input.name = f.name;
    const help = doc.createElement("p");
    help.className = "help";
    help.id = `${id}-help`;
    help.textContent = f.help || "";
    const error = doc.createElement("p");
    error.className = "field-error";
    error.id = `${id}-error`;
    const advice = doc.createElement("p");
    advice.className = "advice";
    advice.id = `${id}-advice`;
    advice.hidden = true;
    input.setAttribute("aria-describedby", `${help.id} ${advice.id} ${error.id}`);
    this._show(f, input, f.default);
    if (f.live) {
      input.addEventListener("change", () => {
        const v = this._read(f, input);
        if (v !== undefined) this._configure(f, v, input);
      });
    }
    wrap.append(label, input, help, advice, error);
    this.inputs.set(f.name, input);
    return wrap;
  }

  async _configure(f, value, input) {
    if (input.type === "radio") this.asked.set(f.name, value);
    const answer = await this.send("configure", { [f.name]: value });
    if (answer && answer.ok === false) this.asked.delete(f.name);
    const error = this.doc.getElementById(`set-${f.name}-error`);
    const ok = !(answer && answer.ok === false);
    if (input.type !== "radio") input.setAttribute("aria-invalid", ok ? "false" : "true");
    if (error) {
      const current = this.deps.model.config[f.name];
      const keeps = current === undefined || current === null
        ? "the run keeps its current setting"
        : `the run goes on with ${this.choiceOf(f.name, current)}`;
      error.textContent = ok ? "" : `${this.explain({ ...(answer.error || {}), field: f.name })}.`
        + ` You entered ${this.choiceOf(f.name, value)}; ${keeps}.`;
    }
    if (!ok) this.sync(this.deps.model, true);
    this.deps.onChange?.();
  }

  _show(f, input, value) {
    if (value === undefined || value === null) return;
    if (f.kind === "bool") input.checked = Boolean(value);
    else if (f.kind === "faults") input.value = Array.isArray(value) ? value.join(" ") : String(value);
    else input.value = String(value);
  }

  /** Reflect the run: config into the inputs (not the one being edited), playing, speed. */
  sync(model, force = false) {
    const cfg = model.config || {};
    const active = this.doc.activeElement;
    for (const name of RADIO_FIELDS) {
      if (cfg[name] === undefined) continue;
      // a choice just made stays checked until the run's settings show it (or it is refused)
      if (this.asked.has(name)) {
        if (this.asked.get(name) !== cfg[name] && !force) continue;
        this.asked.delete(name);
      }
      for (const r of this.doc.querySelectorAll(`input[name="${name}"]`)) {
        r.checked = r.value === cfg[name];
      }
    }
    for (const f of this.schema) {
      const input = this.inputs.get(f.name);
      if (!input || cfg[f.name] === undefined) continue;
      if (!force && (input === active || !f.live)) continue;
      if (input.getAttribute("aria-invalid") === "true" && !force) continue;
      this._show(f, input, cfg[f.name]);
    }
    if (cfg.seed !== undefined && (this.el.seed !== active || force) && !this._seedTouched) {
      this.el.seed.value = String(cfg.seed);
    }
    const playing = Boolean(model.playing) && !this.readOnly;
    const label = playing ? "Pause" : model.done && !this.readOnly ? "Finished" : "Play";
    if (this.el.play.textContent !== label) this.el.play.textContent = label;
    this.el.play.setAttribute("aria-pressed", playing ? "true" : "false");
    this.showAdvice(model);
    // the run's speed, even when locked (a class following its presenter sees the pace it plays at)
    const speed = String(model.speed ?? 1);
    if (this.el.speed !== active && [...this.el.speed.options].some((o) => o.value === speed)) {
      this.el.speed.value = speed;
    }
    if (this.readOnly) {
      this._lock();
      return;
    }
    this.el.play.disabled = Boolean(model.done) && !playing;
    this.el.step.disabled = Boolean(model.done);
    for (const { button, node, action } of this.nodeButtons) {
      const crashed = model.crashed(node);
      if (action === "crash") button.disabled = crashed;
      else if (action === "restart") button.disabled = !crashed;
    }
    this._applyRestriction();
  }

  /** Every control that would change a run. */
  _runControls() {
    const { el } = this;
    return [el.play, el.step, el.stepBack, el.reset, el.seed, el.speed,
      ...this.nodeButtons.map((b) => b.button), el.start, ...(el.protocol ? [el.protocol] : []),
      ...this.doc.querySelectorAll("input[name=semantics], input[name=ordering]"),
      ...this.inputs.values()];
  }

  /**
   * Replaying a trace (`reason` says why nothing can be changed) or back to the live run (null).
   * Each control is disabled and described by the reason; the live run's state is shown again
   * by the next sync.
   */
  setReadOnly(reason, whyId = null) {
    this.readOnly = reason || null;
    if (this.readOnly) {
      this._lock(whyId);
      return;
    }
    for (const c of this._runControls()) {
      if (!c.dataset.lockedBy) continue;
      delete c.dataset.lockedBy;
      c.disabled = false;
      c.removeAttribute("title");
      const described = (c.getAttribute("aria-describedby") || "").split(" ")
        .filter((x) => x && x !== c.dataset.lockWhy);
      if (described.length) c.setAttribute("aria-describedby", described.join(" "));
      else c.removeAttribute("aria-describedby");
      delete c.dataset.lockWhy;
    }
  }

  _lock(whyId = null) {
    for (const c of this._runControls()) {
      c.disabled = true;
      if (c.dataset.lockedBy) continue;
      c.dataset.lockedBy = "trace";
      // the live run's settings say nothing about the trace: show none (a snapshot of the live
      // run shows them again)
      if (c.type === "radio") c.checked = false;
      else if (c.tagName === "SELECT" && c !== this.el.speed) c.selectedIndex = -1;
      else if (c.tagName === "INPUT") c.value = "";
      c.title = this.readOnly;
      if (whyId) {
        c.dataset.lockWhy = whyId;
        const described = (c.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        c.setAttribute("aria-describedby", [...described, whyId].join(" "));
      }
    }
  }

  /**
   * The server's advice next to the field it names (`state.advice`: field, level, text), the
   * retry horizon beside the gap timeout, and the at-most-once note beside the delivery
   * semantics when the network duplicates. Advice on a folded (advanced) field is announced on
   * the fold's summary too.
   */
  showAdvice(model) {
    const view = model.view || {};
    const cfg = model.config || {};
    const items = Array.isArray(view.advice) ? view.advice.filter((a) => a && a.field && a.text) : [];
    const horizon = view.horizon && typeof view.horizon === "object" ? view.horizon : null;
    const key = JSON.stringify([items, horizon, cfg.semantics, cfg.duplicate, this.readOnly,
      this.schema.length]);
    if (key === this._adviceKey) return;
    this._adviceKey = key;
    const byField = new Map();
    for (const a of items) {
      if (!byField.has(a.field)) byField.set(a.field, []);
      byField.get(a.field).push(a);
    }
    if (cfg.semantics === "at-most-once" && typeof cfg.duplicate === "number" && cfg.duplicate > 0) {
      const list = byField.get("semantics") || [];
      if (!list.some((a) => /duplicat/i.test(a.text))) {
        list.push({
          field: "semantics", level: "info",
          text: "At-most-once names what the sender does: it sends each message once and never "
            + `retries. The network still duplicates (${this.labelOf("duplicate")} is `
            + `${cfg.duplicate}), so a message can reach the application twice unless the `
            + "receiver deduplicates.",
        });
      }
      byField.set("semantics", list);
    }
    const write = (el, list) => {
      if (!el) return;
      const kids = (list || []).map((a) => {
        const span = this.doc.createElement("span");
        span.className = `advice-item ${a.level === "warning" ? "warning" : "info"}`;
        span.dataset.level = a.level === "warning" ? "warning" : "info";
        span.textContent = `${a.level === "warning" ? "Warning: " : "Note: "}${a.text}`;
        return span;
      });
      el.replaceChildren(...kids);
      el.hidden = kids.length === 0;
    };
    write(this.el.semanticsAdvice, byField.get("semantics"));
    write(this.el.orderingAdvice, byField.get("ordering"));
    let folded = 0;
    for (const f of this.schema) {
      if (f.name === "semantics" || f.name === "ordering") continue;
      const el = this.doc.getElementById(`set-${f.name}-advice`);
      const list = byField.get(f.name);
      write(el, list);
      if (f.advanced && list && list.length) folded += list.length;
    }
    const gap = this.doc.getElementById("set-gap_timeout-advice");
    if (gap && horizon && "retry_ms" in horizon) {
      const p = this.doc.createElement("span");
      p.className = "horizon";
      p.textContent = typeof horizon.retry_ms === "number"
        ? `retry horizon: ${Math.round(horizon.retry_ms)} ms (by then every copy of a message `
          + "has surely arrived)"
        : "retry horizon: unlimited (the producer never stops resending)";
      gap.prepend(p);
      gap.hidden = false;
    }
    if (this.el.advancedSummary) {
      this.el.advancedSummary.textContent = folded
        ? `Advanced settings (${folded} ${folded === 1 ? "note" : "notes"} inside)`
        : "Advanced settings";
    }
  }

  /** A new run: non-live settings shown again from the run's config. */
  syncAll(model) {
    this._seedTouched = false;
    for (const f of this.schema) {
      const input = this.inputs.get(f.name);
      if (input && model.config[f.name] !== undefined) this._show(f, input, model.config[f.name]);
      if (input) input.setAttribute("aria-invalid", "false");
    }
    const options = (model.config && model.config.options) || {};
    for (const f of this.optionFields) {
      const input = this.inputs.get(f.name);
      if (input) this._show(f, input, f.option in options ? options[f.option] : f.default);
    }
    if (this.el.protocol && this.protocol) this.el.protocol.value = this.protocol;
    this.sync(model, true);
  }
}
