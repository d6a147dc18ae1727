/**
 * The step runner: brings the live run to where a lesson step stands, with the ordinary controls
 * of the socket protocol (docs/protocol.md) and nothing else.
 *
 * A step with settings starts a new run (`start`, then `reset`, so it stands paused at t = 0
 * whatever the clock did in between); a step without continues the run as the previous step left
 * it. Then `play_until` the step's predicate, and wait for the frame that says play stopped
 * (`stopped`). The simulator is deterministic, so the same settings and the same `play_until`s
 * rebuild a run exactly: going back a step, opening a step's address or reloading replays from the
 * last step that started a run, quickly, up to the step wanted. The runner remembers where the
 * run stood when a step stopped (epoch and last event), so Next continues without a replay unless
 * the learner changed the run meanwhile.
 */

export const REBUILD_SPEED = 50;

export class Cancelled extends Error {}

export class StepRunner {
  /** @param {object} lab the explorer's wiring (main.js `lab`) */
  constructor(lab) {
    this.lab = lab;
    this.token = 0;
    this.stoodAt = null; // {index, epoch, seq}: where the run stood when step `index` stopped
    this.prepared = null; // {index, epoch, seq}: the new run made for step `index`, at t = 0
  }

  /** Cancel whatever is under way (its promises reject with Cancelled); a new token. */
  cancel() {
    this.token++;
    return this.token;
  }

  _check(token) {
    if (token !== this.token) throw new Cancelled();
  }

  /** Wait until the page holds a run of a session (its first snapshot). */
  ready() {
    const { lab } = this;
    if (lab.connected && lab.model.epoch != null) return Promise.resolve();
    return new Promise((resolve) => {
      const off = lab.on("snapshot", () => {
        off();
        resolve();
      });
    });
  }

  async _send(name, payload) {
    const answer = await this.lab.send(name, payload);
    if (!answer || answer.ok === false) {
      const err = new Error((answer && answer.error && answer.error.message) || `${name} refused`);
      err.code = answer && answer.error && answer.error.code;
      throw err;
    }
    return answer;
  }

  /** Whether the run still stands exactly where step `index` stopped. */
  standsAt(index) {
    const m = this.lab.model;
    const s = this.stoodAt;
    return Boolean(s && s.index === index && s.epoch === m.epoch && s.seq === m.lastSeq
      && !m.playing);
  }

  /**
   * Bring the run to the end of step `index` of `steps` (none: -1 leaves it alone), replaying
   * from the last step that starts a run at REBUILD_SPEED, unless it already stands there.
   */
  async rebuild(steps, index, token) {
    if (index < 0 || this.standsAt(index)) return;
    let first = index;
    while (first > 0 && !steps[first].start) first--;
    await this._send("set_speed", { speed: REBUILD_SPEED });
    this._check(token);
    for (let i = first; i <= index; i++) await this.play(steps[i], i, token);
  }

  /**
   * Play step `index`: a new run from its settings, or on from where the run stands; until its
   * predicate matches (or the run ends). Resolves with {matched, done} once play has stopped.
   */
  async play(step, index, token, speed = null) {
    await this.ready();
    this._check(token);
    if (speed != null) await this._send("set_speed", { speed });
    const epoch = step.start ? await this.prepare(step, index, token) : this.lab.model.epoch;
    this._check(token);
    const result = await this._playUntil(step.until, epoch, token);
    this.prepared = null;
    this.stoodAt = { index, epoch, seq: result.seq ?? this.lab.model.lastSeq };
    return result;
  }

  /**
   * A step that starts a run: its run, new, paused at t = 0 (done once: a run prepared for this
   * step and untouched since is kept). Resolves with the run's epoch.
   */
  async prepare(step, index, token) {
    await this.ready();
    const m = this.lab.model;
    const p = this.prepared;
    if (p && p.index === index && p.epoch === m.epoch && m.lastSeq <= p.seq && !m.playing) {
      return p.epoch;
    }
    // the step's protocol (a preset), or the plain model: a lesson after a preset's is plain again
    await this._send("start", { config: step.start.settings || {}, protocol: step.start.protocol || "classic" });
    this._check(token);
    const epoch = (await this._send("reset", {})).epoch;
    this.prepared = { index, epoch, seq: 0 };
    return epoch;
  }

  _playUntil(until, epoch, token) {
    const { lab } = this;
    return new Promise((resolve, reject) => {
      let acked = false;
      let over = false;
      const offs = [];
      const finish = (result, error = null) => {
        if (over) return;
        over = true;
        lab.keepPlayingWhenHidden = false;
        for (const off of offs) off();
        clearInterval(watch);
        if (error) reject(error);
        else resolve(result);
      };
      // a cancelled step stops waiting at once (the next step's controls take the run over)
      const watch = setInterval(() => {
        if (token !== this.token) finish(null, new Cancelled());
      }, 100);
      offs.push(lab.on("frame", (f) => {
        if (f.epoch > epoch) finish(null, new Cancelled()); // someone started another run
        else if (f.epoch < epoch) return;
        else if (f.stopped) finish({ matched: Boolean(f.stopped.matched), done: Boolean(f.done), seq: f.seq });
        else if (acked && !f.playing) finish({ matched: false, done: Boolean(f.done), seq: f.seq });
      }));
      offs.push(lab.on("snapshot", (s) => {
        if (s.epoch > epoch) finish(null, new Cancelled());
        else if (s.epoch === epoch && acked && !s.playing) {
          finish({ matched: false, done: Boolean(s.done), seq: s.seq });
        }
      }));
      lab.keepPlayingWhenHidden = true; // the play is bounded: let it reach its stop
      lab.send("play_until", { until }).then((answer) => {
        if (answer && answer.ok) {
          acked = true;
          return;
        }
        const code = answer && answer.error && answer.error.code;
        if (code === "invalid_state") finish({ matched: false, done: true, seq: lab.model.lastSeq });
        else finish(null, new Error((answer && answer.error && answer.error.message) || "play_until refused"));
      });
    });
  }
}
