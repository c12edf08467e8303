// The nurse's decisions, each one clinical API call (the server checks role, scope and versions).
import { refId, taskLevel } from "../shared/fhir.js";
import { t } from "../shared/i18n.js";

const ifMatch = (resource) => ({ headers: { "If-Match": `W/"${resource.meta?.versionId}"` } });

export async function signOff(client, composition) {
  await client.post(`/fhir/Composition/${composition.id}/$sign`, {});
  return t("signed_off");
}

export async function sendBack(client, task, note) {
  const body = {
    ...task, status: "on-hold",
    businessStatus: { text: "more-questions" },
    note: [...(task.note || []), { text: note || t("send_back_default_note"), time: new Date().toISOString() }],
  };
  delete body.meta;
  await client.put(`/fhir/Task/${task.id}`, body, ifMatch(task));
  return t("sent_back_done");
}

export async function escalate(client, task, composition, note) {
  const created = await client.post("/fhir/Task/$from-triage", {
    patient_id: refId(task.for),
    triage_level: taskLevel(task) || "consultation",
    kind: "doctor-escalation",
    department: refId(task.owner) || null,
    focus: `Composition/${composition.id}`,
    rule: null,
  });
  if (note) {
    const body = { ...created, note: [{ text: note, time: new Date().toISOString() }] };
    delete body.meta;
    await client.put(`/fhir/Task/${created.id}`, body, ifMatch(created));
  }
  return t("escalated_done");
}
