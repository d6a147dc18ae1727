/**
 * The packet menu: drop, duplicate or delay one packet that is in flight (`inject`).
 *
 * Opened from a click on a moving packet, Enter on a focused one, or a button in the in-flight
 * list. A playing run is paused while the menu is open (a packet lives for well under a second at
 * 1x) and resumed when it closes. Arrow keys move between items; Escape closes and returns focus.
 */

/** A packet in words: "message 3" for the payload kind (the manifest's first), else "ack for message 3". */
export function packetWhat(packet, manifest) {
  const payload = manifest.packetKinds[0];
  return packet.kind == null || packet.kind === payload
    ? `message ${packet.msg}` : `${packet.kind} for message ${packet.msg}`;
}

export class PacketMenu {
  /**
   * @param {HTMLElement} menu  the role="menu" element
   * @param {{send: Function, model: object, notify: Function}} deps
   */
  constructor(menu, deps) {
    this.menu = menu;
    this.deps = deps;
    this.title = menu.querySelector(".menu-title");
    this.items = [...menu.querySelectorAll(".menu-item")];
    this.delay = menu.querySelector("#delay-by");
    this.packet = null;
    this.returnFocus = null;
    this.resumeAfter = false;
    for (const item of this.items) {
      item.addEventListener("click", () => this.act(item.dataset.action));
    }
    menu.addEventListener("keydown", (e) => this._key(e));
    document.addEventListener("pointerdown", (e) => {
      if (!menu.hidden && !menu.contains(e.target)) this.close(false);
    }, true);
  }

  get isOpen() {
    return !this.menu.hidden;
  }

  async open(packet, clientX, clientY, returnFocus) {
    this.packet = packet;
    this.returnFocus = returnFocus || document.activeElement;
    const what = packetWhat(packet, this.deps.model.manifest);
    this.title.textContent = `Packet ${packet.id} (${what})`;
    this.menu.hidden = false; // before measuring: a hidden element has no offsetParent
    const parent = this.menu.offsetParent || document.body;
    const box = parent.getBoundingClientRect();
    const left = Math.min(clientX - box.left + 8, parent.clientWidth - this.menu.offsetWidth - 4);
    const top = Math.min(clientY - box.top + 8, parent.clientHeight - this.menu.offsetHeight - 4);
    this.menu.style.left = `${Math.max(4, left)}px`;
    this.menu.style.top = `${Math.max(4, top)}px`;
    this.items[0].focus();
    if (this.deps.model.playing) {
      this.resumeAfter = true;
      await this.deps.send("pause");
    }
  }

  async act(action) {
    const p = this.packet;
    if (!p) return;
    const payload = { action, packet: p.id };
    if (action === "delay") payload.by = Math.max(1, Number(this.delay.value) || 800);
    const answer = await this.deps.send("inject", payload);
    if (answer && answer.ok === false) {
      this.deps.notify((answer.error && answer.error.message) || "The packet could not be changed.", "error");
    } else {
      this.deps.notify(`Packet ${p.id}: ${action} requested.`);
    }
    this.close(true);
  }

  close(restoreFocus = true) {
    if (this.menu.hidden) return;
    this.menu.hidden = true;
    this.packet = null;
    if (restoreFocus && this.returnFocus && this.returnFocus.isConnected) this.returnFocus.focus();
    if (this.resumeAfter) {
      this.resumeAfter = false;
      this.deps.send("resume");
    }
  }

  _key(e) {
    const i = this.items.indexOf(document.activeElement);
    if (e.key === "Escape") {
      e.preventDefault();
      this.close(true);
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = this.items.length;
      const next = i < 0 ? 0 : (i + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      this.items[next].focus();
    } else if (e.key === "Tab") {
      // keep focus inside the menu while it is open
      e.preventDefault();
      const focusables = [...this.items, this.delay];
      const j = focusables.indexOf(document.activeElement);
      focusables[(j + (e.shiftKey ? focusables.length - 1 : 1)) % focusables.length].focus();
    }
    e.stopPropagation();
  }
}
