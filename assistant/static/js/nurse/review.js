// One pre-consult summary: structured fields, triage with reasons, the answers, and the nurse's actions.
import { el, fmtTime } from "../shared/dom.js";
import { narrativeItems, patientName, refId, taskLevel, taskRule } from "../shared/fhir.js";
import { t, tOr } from "../shared/i18n.js";
import { editForm } from "./edit.js";
import { transcriptView } from "./transcript.js";
import { escalate, sendBack, signOff } from "./actions.js";

export async function showReview(root, client, task) {
  root.replaceChildren(el("p", { class: "muted", text: t("loading") }));
  const compositionId = refId(task.focus);
  const [patient, composition] = await Promise.all([
    client.get(`/fhir/Patient/${refId(task.for)}`),
    compositionId ? client.get(`/fhir/Composition/${compositionId}`) : Promise.resolve(null),
  ]);
  const message = el("p", { id: "review-message", role: "status", class: "notice" });
  const rerender = async (note) => {
    await showReview(root, client, await client.get(`/fhir/Task/${task.id}`));
    if (note) root.querySelector("#review-message").textContent = note;
  };
  const level = taskLevel(task);
  root.replaceChildren(
    el("h2", { id: "review-patient", text: patientName(patient) }),
    el("div", { class: "row" },
      level ? el("span", { id: "triage-level", class: `badge level-${level}`, text: t(`level_${level}`) }) : null,
      el("span", { class: `badge prio-${task.priority}`, text: t(`priority_${task.priority}`) }),
      composition ? el("span", { id: "summary-status", class: "badge", text: t(`composition_${composition.status}`) }) : null),
    message,
    composition ? sectionsView(composition, task) : el("p", { class: "muted", text: t("no_summary") }),
    composition ? await transcriptView(client, composition) : null,
    composition ? actionsView(client, task, composition, root, rerender) : null,
  );
}

function sectionsView(composition, task) {
  const fields = el("dl", { class: "fields", id: "summary-fields" });
  for (const section of composition.section || []) {
    if (section.code?.text === "questionnaire_response" || section.code?.text === "transcript") continue;
    const items = narrativeItems(section.text?.div);
    fields.append(el("dt", { text: tOr(`section_${section.code?.text}`, section.title) }),
      el("dd", {}, items.length > 1 ? el("ul", {}, items.map((item) => el("li", { text: item }))) : items[0] || ""));
  }
  const rule = taskRule(task);
  if (rule) fields.append(el("dt", { text: t("triage_rule") }), el("dd", { text: rule }));
  fields.append(el("dt", { text: t("received") }), el("dd", { text: fmtTime(task.authoredOn) }));
  const attester = composition.attester?.[0];
  if (attester) fields.append(el("dt", { text: t("signed_by") }), el("dd", { text: `${attester.party?.display || ""} ${fmtTime(attester.time)}` }));
  return el("section", {}, el("h3", { text: t("summary_fields") }), fields);
}

function actionsView(client, task, composition, root, rerender) {
  const final = composition.status === "final";
  const note = el("textarea", { id: "nurse-note", "aria-label": t("note_label"), placeholder: t("note_label") });
  const run = (action) => async () => {
    try { await rerender(await action()); } catch (error) {
      root.querySelector("#review-message").textContent = t("action_failed", { error: error.message });
    }
  };
  return el("section", {},
    el("h3", { text: t("actions") }),
    note,
    el("div", { class: "row" },
      el("button", { id: "edit-summary", class: "secondary", disabled: final,
        onclick: () => root.append(editForm(client, composition, rerender)) }, t("edit")),
      el("button", { id: "sign-off", disabled: final, onclick: run(() => signOff(client, composition)) }, t("sign_off")),
      el("button", { id: "send-back", class: "secondary", onclick: run(() => sendBack(client, task, note.value)) }, t("send_back")),
      el("button", { id: "escalate", class: "danger", onclick: run(() => escalate(client, task, composition, note.value)) }, t("escalate"))));
}
