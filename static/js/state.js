/**
 * The client model of one run: the event store (store.js), shaped by the protocol's manifest,
 * plus what the protocol's own part of the page derives from the same events (`views`: for the
 * classic protocol its ledger and reorder-buffer story, protocols/classic.js).
 */

import { pagePart } from "./protocols/index.js";
import { EventStore, lowerBound, MAX_EVENTS } from "./store.js";

export { lowerBound, MAX_EVENTS };

export class RunModel extends EventStore {
  /** The protocol's part of the page (protocols/index.js). */
  get part() {
    return pagePart(this.manifest.protocol);
  }

  makeViews() {
    return this.part.views();
  }
}
