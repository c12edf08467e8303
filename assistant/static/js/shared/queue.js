// A live Task queue (nurse reviews, doctor escalations): most urgent first, then longest waiting.
import { el, fmtTime } from "./dom.js";
import { entries, patientName, refId, sortQueue, taskLevel } from "./fhir.js";
import { t } from "./i18n.js";
import { followEvents } from "./sse.js";

export class TaskQueue {
  constructor({ client, kind, statuses, list, status, onSelect }) {
    Object.assign(this, { client, kind, statuses, list, status, onSelect });
    this.tasks = new Map();
    this.names = new Map();
    this.selected = null;
  }

  async load() {
    // One search per status: the API's search values do not accept a comma list yet.
    const bundles = await Promise.all(this.statuses.map((status) =>
      this.client.get("/fhir/Task", { code: this.kind, status, _count: 100 })));
    this.tasks = new Map(bundles.flatMap(entries).map((task) => [task.id, task]));
    await this.render();
  }

  follow() {
    const url = `${this.client.base}/events/tasks`;
    this.stop = followEvents(url, this.client.token, (name, data) => this.onEvent(name, data), {
      onState: (state) => {
        this.status.textContent = t(state === "live" ? "queue_live" : "queue_reconnecting");
        if (state === "live") this.load();  // catch up on anything missed while disconnected
      },
    });
  }

  onEvent(name, data) {
    const task = data.task;
    if (name !== "task" || !task || task.code?.coding?.[0]?.code !== this.kind) return;
    if (this.statuses.includes(task.status)) this.tasks.set(task.id, task);
    else this.tasks.delete(task.id);
    this.render();
  }

  async nameOf(patientId) {
    if (!this.names.has(patientId)) {
      this.names.set(patientId, this.client.get(`/fhir/Patient/${patientId}`).then(patientName).catch(() => patientId));
    }
    return this.names.get(patientId);
  }

  async render() {
    const turn = (this.renders = (this.renders || 0) + 1);  // only the latest render may paint
    const tasks = sortQueue([...this.tasks.values()]);
    const items = await Promise.all(tasks.map(async (task) => {
      const level = taskLevel(task);
      const name = await this.nameOf(refId(task.for));
      const item = el("li", { "data-task": task.id, class: task.id === this.selected ? "selected" : "",
        onclick: () => { this.selected = task.id; this.render(); this.onSelect(task); } },
        el("div", { class: "row" },
          el("span", { class: `badge prio-${task.priority}`, text: t(`priority_${task.priority}`) }),
          level ? el("span", { class: `badge level-${level}`, text: t(`level_${level}`) }) : null,
          task.status === "on-hold" ? el("span", { class: "badge", text: t("sent_back") }) : null,
          el("strong", { class: "patient-name", text: name })),
        el("div", { class: "muted", text: t("waiting_since", { time: fmtTime(task.authoredOn) }) }));
      return item;
    }));
    if (turn !== this.renders) return;
    this.list.replaceChildren(...items);
    if (!items.length) this.list.append(el("li", { class: "muted", text: t("queue_empty") }));
  }
}
