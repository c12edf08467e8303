// One escalated case: who, why, the video consult, and the record (timeline, readings, images).
import { el, fmtTime } from "../shared/dom.js";
import { entries, patientName, refId, taskLevel, taskRule } from "../shared/fhir.js";
import { t } from "../shared/i18n.js";
import { joinLink } from "../shared/video.js";
import { Viewer } from "../shared/viewer.js";
import { timelineView } from "./timeline.js";
import { readingsView } from "./readings.js";

async function search(client, type, patientId, extra = {}) {
  try { return entries(await client.get(`/fhir/${type}`, { patient: patientId, _count: 100, ...extra })); } catch { return []; }
}

export async function showRecord(root, client, task) {
  root.replaceChildren(el("p", { class: "card muted", text: t("loading") }));
  const patientId = refId(task.for);
  const [patient, encounters, compositions, observations, studies] = await Promise.all([
    client.get(`/fhir/Patient/${patientId}`),
    search(client, "Encounter", patientId),
    search(client, "Composition", patientId),
    search(client, "Observation", patientId),
    search(client, "ImagingStudy", patientId),
  ]);
  const message = el("p", { class: "notice", role: "status", id: "record-message" });
  const level = taskLevel(task);
  const viewerBox = el("div", { id: "doctor-viewer" });
  const header = el("section", { class: "card" },
    el("h2", { id: "record-patient", text: patientName(patient) }),
    el("p", { class: "muted", text: [patient.gender, patient.birthDate].filter(Boolean).join(" · ") }),
    el("div", { class: "row" },
      level ? el("span", { class: `badge level-${level}`, id: "case-level", text: t(`level_${level}`) }) : null,
      el("span", { class: `badge prio-${task.priority}`, text: t(`priority_${task.priority}`) }),
      taskRule(task) ? el("span", { class: "muted", text: `${t("triage_rule")}: ${taskRule(task)}` }) : null),
    (task.note || []).map((note) => el("p", { text: `${t("nurse_note")}: ${note.text}` })),
    el("div", { class: "row" },
      el("button", { id: "start-video", onclick: async () => {
        try { window.open(await joinLink(client, { task: task.id }), "_blank", "noopener"); } catch (error) {
          message.textContent = t("action_failed", { error: error.message });
        }
      } }, t("start_video")),
      el("button", { class: "secondary", id: "mark-done", onclick: async () => {
        const body = { ...task, status: "completed" };
        delete body.meta;
        try {
          await client.put(`/fhir/Task/${task.id}`, body, { headers: { "If-Match": `W/"${task.meta?.versionId}"` } });
          message.textContent = t("case_done");
        } catch (error) { message.textContent = t("action_failed", { error: error.message }); }
      } }, t("mark_done"))),
    message);
  const imaging = el("section", { class: "card", id: "imaging" }, el("h3", { text: t("imaging") }),
    studies.length ? el("ul", { class: "plain" }, studies.map((study) => el("li", {},
      el("button", { class: "secondary open-study", onclick: () => new Viewer(viewerBox, client).open(study) },
        `${study.description || t("imaging_study")} ${fmtTime(study.started)}`)))) : el("p", { class: "muted", text: t("no_images") }),
    viewerBox);
  root.replaceChildren(header, timelineView(encounters, compositions), readingsView(observations), imaging);
}
