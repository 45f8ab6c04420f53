// kubelab's live cluster diagram: the front-end half of kubelab.viz.widgets.ClusterDiagram.
//
// The kernel lays the picture out (kubelab/viz/scene.py) as a flat scene of SVG elements
// keyed by id and sends, per update, only the elements that changed ("frames"), each with
// the ops that undo it and the pulses (who wrote or was told what) to animate along the
// links to the API server. This module draws those elements, keeps the last frames for the
// replay slider, and asks the kernel for a pod's or node's details when it is clicked.
// Until the kernel answers (or with no kernel at all: a saved notebook, an HTML export) the
// static drawing in the widget's `value` is shown.

const NS = "http://www.w3.org/2000/svg";
const HISTORY = 500;
const PULSE_GAP_MS = 170;
const PULSE_MS = 650;
const MAX_PULSES = 40;

const CSS = `
.kubelab-live .kl-bar { display:flex; align-items:center; gap:6px; margin:2px 4px; font-size:12px; }
.kubelab-live .kl-bar input[type=range] { flex:1; }
.kubelab-live .kl-bar button { font-size:12px; padding:1px 8px; }
.kubelab-live [data-pod], .kubelab-live [data-node] > rect:first-of-type { cursor:pointer; }
.kubelab-live [data-changed] > rect, .kubelab-live rect[data-changed] { stroke:#ff8c00; stroke-width:2; }
.kubelab-live path[data-active] { stroke-width:3; }
.kubelab-live path[data-active=up] { stroke:#ff8c00; }
.kubelab-live path[data-active=down] { stroke:#2f80ed; }
.kubelab-live [data-section=activity] { font-size:11px; color:#52606d; margin:2px 4px; min-height:1em; }
.kubelab-live [data-section=activity] li { list-style:none; }
.kubelab-live [data-section=activity] li[data-pulse-dir=up]::before { content:"\\25B2 "; color:#ff8c00; }
.kubelab-live [data-section=activity] li[data-pulse-dir=down]::before { content:"\\25BC "; color:#2f80ed; }
.kubelab-live [data-section=details] { font-size:12px; margin:4px; padding:4px 8px; border:1px solid #c9d1db; border-radius:6px; background:#fff; }
.kubelab-live [data-section=details]:empty { display:none; }
`;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

class Scene {
  constructor(svg) {
    this.svg = svg;
    this.nodes = new Map();
    this.attrs = new Map();
  }

  clear() {
    this.svg.replaceChildren();
    this.nodes.clear();
    this.attrs.clear();
  }

  apply(delta) {
    for (const id of delta.del || []) {
      const node = this.nodes.get(id);
      if (node) node.remove();
      this.nodes.delete(id);
      this.attrs.delete(id);
    }
    const set = delta.set || {};
    for (const id in set) this.put(id, set[id]);
  }

  put(id, e) {
    if (e.k === "meta") {
      this.svg.setAttribute("width", e.a.width);
      this.svg.setAttribute("height", e.a.height);
      this.svg.setAttribute("viewBox", `0 0 ${e.a.width} ${e.a.height}`);
      return;
    }
    const a = e.a;
    let node = this.nodes.get(id);
    if (node && node.tagName !== e.k) {
      node.remove();
      node = undefined;
    }
    const parent = (e.p && this.nodes.get(e.p)) || this.svg;
    if (!node) {
      // A new element (all of them on a view's first drawing): its attributes, title and
      // text set before it joins the page, once each, with nothing to compare, remove or
      // allocate; setting them after it joined made the browser restyle it per attribute,
      // and the per-attribute comparison doubled the script time of a 5,000-pod drawing.
      node = document.createElementNS(NS, e.k);
      for (const k in a) node.setAttribute(k, a[k]);
      if (e.tip) {
        node._klTip = document.createElementNS(NS, "title");
        node._klTip.textContent = e.tip;
        node.appendChild(node._klTip);
      }
      if (e.x !== undefined) {
        node._klText = document.createTextNode(String(e.x));
        node.appendChild(node._klText);
      }
      this.nodes.set(id, node);
      this.attrs.set(id, a);
      parent.appendChild(node);
      return;
    }
    if (node.parentNode !== parent) parent.appendChild(node);
    const before = this.attrs.get(id); // every drawn element's attributes are kept
    for (const k in before) if (!(k in a)) node.removeAttribute(k);
    for (const k in a) if (before[k] !== a[k]) node.setAttribute(k, a[k]);
    this.attrs.set(id, a);
    if (a["data-tip"] !== undefined && node._klTip) node._klTip.textContent = a["data-tip"];
    else if (e.tip !== undefined || node._klTip) {
      if (!node._klTip) {
        node._klTip = document.createElementNS(NS, "title");
        node.insertBefore(node._klTip, node.firstChild);
      }
      node._klTip.textContent = e.tip || "";
    }
    if (e.x !== undefined || node._klText) {
      if (!node._klText) {
        node._klText = document.createTextNode("");
        node.appendChild(node._klText);
      }
      node._klText.data = e.x === undefined ? "" : String(e.x);
    }
  }
}

class LiveView {
  constructor(root, model) {
    this.root = root;
    this.model = model;
    this.frames = [];
    this.pos = -1; // the drawing shows the state right after frames[pos]
    this.timers = [];
    root.replaceChildren();
    root.classList.add("kubelab-live");
    root.appendChild(el("style", {}, CSS));
    const bar = el("div", { class: "kl-bar", "data-section": "replay" });
    this.back = el("button", { "data-replay": "back", title: "one change back" }, "\u25C0");
    this.slider = el("input", { type: "range", min: "0", max: "0", value: "0", "data-replay": "slider" });
    this.fwd = el("button", { "data-replay": "forward", title: "one change forward" }, "\u25B6");
    this.live = el("button", { "data-replay": "live", title: "back to the live cluster" }, "Live");
    this.label = el("span", { "data-replay": "position" }, "");
    bar.append(el("span", {}, "Replay"), this.back, this.slider, this.fwd, this.live, this.label);
    this.svg = document.createElementNS(NS, "svg");
    this.svg.setAttribute("class", "kubelab-scene");
    this.svg.setAttribute("style",
      "font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;font-size:11px;fill:#1f2933;max-width:100%");
    this.scene = new Scene(this.svg);
    this.activity = el("ul", { "data-section": "activity", style: "padding:0" });
    this.details = el("div", { "data-section": "details" });
    this.changes = el("div", { "data-section": "changes", style: "font-size:11px;color:#52606d;margin:4px" });
    this.legend = el("div");
    root.append(bar, this.svg, this.details, this.activity, this.changes, this.legend);
    this.back.onclick = () => this.goto(this.pos - 1, true);
    this.fwd.onclick = () => this.goto(this.pos + 1, true);
    this.live.onclick = () => this.goto(this.frames.length - 1, true);
    this.slider.oninput = () => this.goto(Number(this.slider.value), true);
    this.svg.addEventListener("mouseover", (ev) => {
      const chip = ev.target.closest("[data-tip]");
      if (!chip || chip._klTip) return;
      chip._klTip = document.createElementNS(NS, "title");
      chip._klTip.textContent = chip.getAttribute("data-tip");
      chip.appendChild(chip._klTip);
    });
    this.svg.addEventListener("click", (ev) => {
      const hit = ev.target.closest("[data-pod],[data-node]");
      if (!hit) return;
      const pod = hit.getAttribute("data-pod");
      this.model.send(pod ? { type: "select", kind: "pod", key: pod }
        : { type: "select", kind: "node", key: hit.getAttribute("data-node") });
    });
  }

  reset(msg) {
    this.timers.forEach(clearTimeout);
    // Build the whole picture detached from the page: one layout at the end, not one per element.
    const marker = document.createComment("kl");
    this.svg.replaceWith(marker);
    this.scene.clear();
    this.scene.apply({ set: msg.scene, del: [] });
    marker.replaceWith(this.svg);
    this.frames = msg.frames || [];
    this.pos = this.frames.length - 1;
    this.legend.innerHTML = msg.legend || "";
    this.sync();
  }

  frame(f) {
    const following = this.pos === this.frames.length - 1;
    this.frames.push(f);
    if (this.frames.length > HISTORY) {
      if (this.pos < 0) { this.scene.apply(this.frames[0].fwd); this.pos = 0; }
      this.frames.shift();
      this.pos -= 1;
    }
    if (following) {
      this.scene.apply(f.fwd);
      this.pos = this.frames.length - 1;
      this.pulse(f);
      this.showChanges(f);
    }
    this.sync();
  }

  goto(target, animate) {
    target = Math.max(-1, Math.min(this.frames.length - 1, target));
    const forward = target > this.pos;
    while (this.pos > target) { this.scene.apply(this.frames[this.pos].undo); this.pos -= 1; }
    while (this.pos < target) { this.pos += 1; this.scene.apply(this.frames[this.pos].fwd); }
    const f = this.frames[this.pos];
    if (f && animate) {
      if (forward || this.pos === target) this.pulse(f);
      this.showChanges(f);
    }
    this.sync();
  }

  sync() {
    const n = this.frames.length;
    this.slider.max = String(Math.max(0, n - 1));
    this.slider.value = String(Math.max(0, this.pos));
    const live = this.pos === n - 1;
    this.root.setAttribute("data-live", live ? "true" : "false");
    this.root.setAttribute("data-frame", String(this.pos));
    this.root.setAttribute("data-frames", String(n));
    const f = this.frames[this.pos];
    this.label.textContent = live ? `live${f ? " · " + f.at : ""}`
      : `change ${this.pos + 1} of ${n}${f ? " · " + f.at : ""} (Live resumes)`;
    this.live.disabled = live;
    this.back.disabled = this.pos < 0;
    this.fwd.disabled = live;
  }

  showChanges(f) {
    this.changes.replaceChildren();
    if (!f.changes || !f.changes.length) return;
    this.changes.append(el("b", {}, "Just changed"));
    const ul = el("ul", { style: "margin:2px 0 0 16px;padding:0" });
    for (const c of f.changes.slice(0, 12)) ul.append(el("li", {}, c));
    this.changes.append(ul);
  }

  pulse(f) {
    // One queue for all frames, so the hops of a burst play in the order they happened;
    // when the queue runs more than two seconds behind, the gap shrinks to catch up.
    const pulses = (f.pulses || []).slice(0, MAX_PULSES);
    const layer = this.scene.nodes.get("layer/boxes") || this.svg;
    const now = performance.now();
    this.nextAt = Math.max(now, this.nextAt || 0);
    const gap = this.nextAt - now > 2000 ? PULSE_GAP_MS / 4 : PULSE_GAP_MS;
    pulses.forEach((p) => {
      const delay = this.nextAt - now;
      this.nextAt += gap;
      this.timers.push(setTimeout(() => {
        const link = this.scene.nodes.get("link/" + p.l);
        this.log(p);
        if (!link) return;
        link.setAttribute("data-active", p.d);
        link.setAttribute("data-pulsed", String(Number(link.getAttribute("data-pulsed") || 0) + 1));
        const dot = document.createElementNS(NS, "circle");
        dot.setAttribute("r", "5");
        dot.setAttribute("class", "kl-pulse");
        dot.setAttribute("data-pulse-link", p.l);
        dot.setAttribute("fill", p.d === "up" ? "#ff8c00" : "#2f80ed");
        const motion = document.createElementNS(NS, "animateMotion");
        motion.setAttribute("dur", `${PULSE_MS}ms`);
        motion.setAttribute("path", link.getAttribute("d"));
        motion.setAttribute("keyPoints", p.d === "up" ? "0;1" : "1;0");
        motion.setAttribute("keyTimes", "0;1");
        motion.setAttribute("calcMode", "linear");
        motion.setAttribute("fill", "freeze");
        motion.setAttribute("begin", "indefinite");
        dot.appendChild(motion);
        layer.appendChild(dot);
        if (motion.beginElement) motion.beginElement();
        this.timers.push(setTimeout(() => {
          dot.remove();
          if (link.getAttribute("data-active") === p.d) link.removeAttribute("data-active");
        }, PULSE_MS + 50));
      }, delay));
    });
    if (this.timers.length > 400) this.timers = this.timers.slice(-200);
  }

  log(p) {
    const li = el("li", { "data-pulse-link": p.l, "data-pulse-dir": p.d }, p.t);
    this.activity.prepend(li);
    while (this.activity.childElementCount > 8) this.activity.lastChild.remove();
  }

  showDetails(msg) {
    this.details.innerHTML = msg.html;
    this.details.setAttribute("data-target", msg.target);
  }
}

/** Milliseconds until the drawing is copied into the saved widget state: 2 s after the last
 * frame, but no later than 10 s after the first frame not yet copied. */
export function saveDelay(pendingSince, now, quiet = 2000, most = 10000) {
  return Math.max(0, Math.min(quiet, pendingSince + most - now));
}

function render({ model, el: host }) {
  const root = document.createElement("div");
  root.className = "kubelab-diagram";
  root.innerHTML = model.get("value") || "";
  host.appendChild(root);
  let view = null;
  let saveTimer = null;
  let pendingSince = null;
  const keepStatic = () => {
    // The widget state a saved notebook keeps: the drawing as it is now, not as sent first.
    // Copied 2 s after a burst of frames ends, and at least every 10 s while frames keep
    // coming (kubelets' heartbeats can keep a busy cluster's frames under 2 s apart).
    const now = Date.now();
    if (pendingSince === null) pendingSince = now;
    clearTimeout(saveTimer);
    const delay = saveDelay(pendingSince, now);
    saveTimer = setTimeout(() => {
      pendingSince = null;
      if (!view) return;
      const legend = view.legend.innerHTML;
      model.set("value", `<div class="kubelab-diagram">${view.svg.outerHTML}${legend}</div>`);
    }, delay);
  };
  const onMessage = (msg) => {
    if (msg.type === "reset") {
      if (!view) view = new LiveView(root, model);
      view.reset(msg);
    } else if (msg.type === "frame" && view) {
      view.frame(msg.frame);
      keepStatic();
    } else if (msg.type === "details" && view) {
      view.showDetails(msg);
    }
  };
  model.on("msg:custom", onMessage);
  model.send({ type: "hello" });
  return () => {
    model.off("msg:custom", onMessage);
    clearTimeout(saveTimer);
    if (view) view.timers.forEach(clearTimeout);
  };
}

export default { render };
