/**
 * The toolbar above the timeline: the view switch (the observer's view, or the partial view the
 * manifest names: the producer's for the classic protocol), the focused message, the pinned
 * chain, presenter size and the text view; and a status line saying what is dimmed. Presenter
 * size is remembered for the next visit.
 */

const PRESENTER_KEY = "delivery-lab.presenter";

/**
 * The toolbar above the timeline: the view switch (observer / producer), the focused message,
 * the pinned chain, presenter size and the text view; and a status line saying what is dimmed.
 */
export function bindTimelineTools(doc, timeline, { details = null, textView = null } = {}) {
  const $ = (id) => doc.getElementById(id);
  const radios = [...doc.querySelectorAll("input[name=lens]")];
  const focusInput = $("focus-msg");
  const pinButton = $("pin-chain");
  const clearButton = $("clear-filters");
  const presenter = $("presenter-size");
  const status = $("timeline-filter-status");
  if (details) details.view = timeline;

  for (const radio of radios) {
    radio.addEventListener("change", () => {
      if (radio.checked) timeline.setLens(radio.value);
    });
  }
  const applyFocus = () => {
    const text = focusInput.value.trim();
    const n = Number(text);
    timeline.setFocusMsg(text && Number.isInteger(n) && n > 0 ? n : null);
  };
  focusInput.addEventListener("input", applyFocus);
  focusInput.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      focusInput.value = "";
      applyFocus();
    }
  });
  pinButton.addEventListener("click", () => {
    timeline.pin(timeline.pinSeq != null ? null : timeline.selected);
  });
  clearButton.addEventListener("click", () => timeline.clearFilters());
  presenter.addEventListener("click", () => {
    const on = timeline.ui === 1;
    timeline.setPresenter(on);
    try {
      localStorage.setItem(PRESENTER_KEY, on ? "1" : "0");
    } catch {
      // storage may be off: the size still applies to this page
    }
  });
  timeline.canvas.addEventListener("keydown", (e) => {
    if ((e.key === "t" || e.key === "T") && !e.ctrlKey && !e.metaKey && !e.altKey && textView) {
      e.preventDefault();
      textView.open();
    }
  });

  const sync = () => {
    const m = timeline.model;
    // the partial view beside the observer's is the one the manifest names
    const lens = m.manifest.lens;
    const partial = radios.find((r) => r.value !== "observer");
    if (partial) {
      const option = partial.closest("label");
      if (option) option.hidden = !lens;
      if (lens) {
        partial.value = lens.id;
        const name = doc.getElementById("lens-partial-name");
        if (name && name.textContent !== lens.label) name.textContent = lens.label;
      }
    }
    for (const radio of radios) radio.checked = radio.value === timeline.lens;
    if (doc.activeElement !== focusInput) {
      focusInput.value = timeline.focusMsg == null ? "" : String(timeline.focusMsg);
    }
    pinButton.setAttribute("aria-pressed", timeline.pinSeq != null ? "true" : "false");
    pinButton.disabled = timeline.pinSeq == null && timeline.selected == null;
    presenter.setAttribute("aria-pressed", timeline.ui > 1 ? "true" : "false");
    clearButton.hidden = timeline.pinSeq == null && timeline.focusMsg == null;
    const parts = [];
    if (lens && timeline.lens === lens.id) parts.push(lens.says);
    if (timeline.focusMsg != null) parts.push(`Focus: message ${timeline.focusMsg}, others dimmed.`);
    if (timeline.pinSeq != null) {
      const ev = m.get(timeline.pinSeq);
      const what = ev && ev.msg != null ? ` (message ${ev.msg})` : "";
      parts.push(`Pinned: the causal chain of event ${timeline.pinSeq}${what} stays lit.`);
    }
    const text = parts.join(" ");
    if (status.textContent !== text) status.textContent = text;
    textView?.refreshIfOpen();
  };
  timeline.listeners.add(sync);
  let stored = null;
  try {
    stored = localStorage.getItem(PRESENTER_KEY);
  } catch {
    stored = null;
  }
  if (stored === "1") timeline.setPresenter(true);
  sync();
  return sync;
}
