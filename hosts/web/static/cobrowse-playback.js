// A stored co-browse share (GET /api/records/{id}/cobrowse) played into the sandboxed
// replayer: the customer's page as it was after any number of its stored events.
// Going forward applies only the events that follow; going back (or to another share)
// rebuilds from the last snapshot before the point, a snapshot being a full base.
import { Replayer } from "/sdk/cobrowse/replayer.js";

export class CobrowsePlayback {
  constructor(iframe) {
    this.replayer = new Replayer(iframe);
    this.share = null;
    this.applied = 0;
    this.ready = false; // a snapshot is in the frame
  }

  // Shows `share` after its first `count` events; false while it has no page yet.
  show(share, count) {
    const events = share.events;
    const upTo = Math.max(0, Math.min(count, events.length));
    let from = this.applied;
    let rebuilding = false;
    if (share !== this.share || upTo < this.applied) {
      this.share = share;
      this.ready = false;
      from = 0;
      for (let i = 0; i < upTo; i += 1) if (events[i].kind === "snapshot") from = i;
      rebuilding = true;
    }
    for (let i = from; i < upTo; i += 1) {
      const { kind, data } = events[i];
      if (kind === "snapshot") {
        this.replayer.reset(data);
        this.ready = true;
      } else if (this.ready && !(rebuilding && kind === "click")) {
        // A rebuild skips the click marks: they are a trail of the moment, not of the page.
        this.replayer.apply(kind, data);
      }
    }
    // A replay is read-only, including fields that events since the snapshot added.
    if (from < upTo && this.ready) this.replayer.setControl(false);
    this.applied = upTo;
    return this.ready;
  }

  // How many of `share`'s events happened at or before the server time `at`.
  static countAt(share, at) {
    const events = share.events;
    let low = 0;
    let high = events.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (events[middle].at <= at) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
