/**
 * The timeline's animation clock: the simulated time the drawing shows (`now`), and the
 * requestAnimationFrame loop that moves it.
 *
 * Between two frames from the server, packets in flight move on: the clock extrapolates the
 * server's clock at the run's speed from the wall time since the last frame (at most
 * MAX_EXTRAPOLATE_MS ahead, and never backwards). The loop runs only while something moves (a
 * visible, playing run with motion allowed); otherwise one frame is drawn when asked (`request`)
 * and none while the tab is hidden.
 */

const MAX_EXTRAPOLATE_MS = 2500;

export class AnimationClock {
  /**
   * @param {{now: number, playing: boolean, done: boolean, speed: number}} model  the run
   * @param {{reducedMotion: () => boolean, onFrame: () => void}} hooks
   */
  constructor(model, hooks) {
    this.model = model;
    this.hooks = hooks;
    this.now = 0; // the simulated time drawn
    this.baseNow = 0;
    this.baseWall = 0;
    this.raf = 0;
    this._tick = this._tick.bind(this);
  }

  /** The run's clock moved (a frame or a snapshot arrived); `reset`: a new run or view. */
  sync(reset = false) {
    const m = this.model;
    this.baseNow = m.now;
    this.baseWall = performance.now();
    if (m.now > this.now || !m.playing || reset) this.now = m.now;
  }

  /** Something is moving: a visible, playing run whose packets may be animated. */
  animating() {
    const m = this.model;
    return !document.hidden && m.playing && !m.done && !this.hooks.reducedMotion();
  }

  /** Draw one frame soon (nothing while the tab is hidden). */
  request() {
    if (!this.raf && !document.hidden) this.raf = requestAnimationFrame(this._tick);
  }

  _tick() {
    this.raf = 0;
    const m = this.model;
    if (this.animating()) {
      const elapsed = Math.min(performance.now() - this.baseWall, MAX_EXTRAPOLATE_MS);
      const est = this.baseNow + elapsed * (m.speed || 1);
      if (est > this.now) this.now = est;
    } else {
      this.now = m.now;
    }
    this.hooks.onFrame();
    if (this.animating()) this.request();
  }
}
