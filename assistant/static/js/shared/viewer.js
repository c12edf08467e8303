// Image viewer: series choice, scrolling through instances, window/level, and a length measurement.
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { instanceInfo, instancePath, lengthMm, renderedFrame, studyUid } from "./imaging.js";

export class Viewer {
  constructor(root, client) { Object.assign(this, { root, client }); this.points = []; this.window = null; }

  async open(study) {
    this.uid = studyUid(study);
    this.series = (study.series || []).map((series) => ({
      uid: series.uid, label: series.description || `${series.modality?.code || ""} ${series.number ?? ""}`.trim(),
      instances: [...(series.instance || [])].sort((a, b) => (a.number ?? 0) - (b.number ?? 0)).map((i) => i.uid),
    })).filter((series) => series.instances.length);
    this.canvas = el("canvas", { id: "image-canvas", "aria-label": t("image") });
    this.slider = el("input", { type: "range", min: 0, value: 0, id: "instance-slider", "aria-label": t("instance") });
    this.position = el("span", { id: "instance-position" });
    this.center = el("input", { type: "number", id: "window-center", "aria-label": t("window_center"), size: 6 });
    this.width = el("input", { type: "number", id: "window-width", "aria-label": t("window_width"), size: 6, min: 1 });
    this.readout = el("p", { id: "measure-result", role: "status" });
    this.picker = el("select", { id: "series-select", "aria-label": t("series") },
      this.series.map((series, i) => el("option", { value: i, text: series.label || `${t("series")} ${i + 1}` })));
    this.picker.onchange = () => this.pick(Number(this.picker.value));
    this.slider.oninput = () => this.show(Number(this.slider.value));
    const applyWindow = () => {
      this.window = { center: Number(this.center.value), width: Math.max(1, Number(this.width.value)) };
      this.show(this.index);
    };
    this.center.onchange = applyWindow;
    this.width.onchange = applyWindow;
    this.canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      const next = Math.min(Math.max(this.index + Math.sign(event.deltaY), 0), this.current.instances.length - 1);
      if (next !== this.index) { this.slider.value = next; this.show(next); }
    });
    this.canvas.addEventListener("click", (event) => this.measure(event));
    this.root.replaceChildren(el("div", { class: "card" },
      el("div", { class: "row" }, this.picker, this.slider, this.position),
      el("div", { class: "row" }, el("label", { text: t("window_center") }), this.center,
        el("label", { text: t("window_width") }), this.width,
        el("button", { class: "secondary", id: "window-reset", onclick: () => { this.window = null; this.show(this.index); } }, t("window_reset"))),
      el("p", { class: "muted", text: t("measure_hint") }),
      el("div", { class: "viewer" }, this.canvas), this.readout));
    if (this.series.length) await this.pick(0);
    else this.readout.textContent = t("no_images");
  }

  async pick(i) {
    this.current = this.series[i];
    this.slider.max = this.current.instances.length - 1;
    this.slider.value = 0;
    await this.show(0);
  }

  async show(index) {
    this.index = index;
    this.points = [];
    const path = instancePath(this.uid, this.current.uid, this.current.instances[index]);
    this.position.textContent = `${index + 1} / ${this.current.instances.length}`;
    try {
      this.info = await instanceInfo(this.client, path);
      if (!this.window && this.info.center !== null) { this.center.value = this.info.center; this.width.value = this.info.width; }
      this.bitmap = await renderedFrame(this.client, path, this.window);
      this.draw();
      this.canvas.dataset.rendered = `${this.bitmap.width}x${this.bitmap.height}`;
      this.canvas.dataset.window = this.window ? `${this.window.center},${this.window.width}` : "default";
    } catch (error) {
      this.readout.textContent = t("action_failed", { error: error.message });
    }
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    this.canvas.width = this.bitmap.width;
    this.canvas.height = this.bitmap.height;
    ctx.drawImage(this.bitmap, 0, 0);
    if (!this.points.length) return;
    ctx.strokeStyle = "#ffd400";
    ctx.fillStyle = "#ffd400";
    ctx.lineWidth = Math.max(1, this.bitmap.width / 256);
    ctx.beginPath();
    this.points.forEach((p, i) => (i ? ctx.lineTo(p.x, p.y) : ctx.moveTo(p.x, p.y)));
    ctx.stroke();
    for (const p of this.points) ctx.fillRect(p.x - 2, p.y - 2, 4, 4);
  }

  measure(event) {
    const scale = this.canvas.width / this.canvas.clientWidth;
    const point = { x: event.offsetX * scale, y: event.offsetY * scale };
    this.points = this.points.length === 1 ? [this.points[0], point] : [point];
    this.draw();
    if (this.points.length < 2) { this.readout.textContent = t("measure_second_point"); return; }
    const mm = lengthMm(this.points[0], this.points[1], this.info?.pixelSpacing);
    const px = Math.hypot(this.points[1].x - this.points[0].x, this.points[1].y - this.points[0].y);
    this.readout.textContent = mm === null ? t("length_px", { px: px.toFixed(0) }) : t("length_mm", { mm: mm.toFixed(1) });
  }
}
