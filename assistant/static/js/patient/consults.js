// The patient's booked video consults: join, reschedule, cancel, and booking a new one.
import { el, fmtTime } from "../shared/dom.js";
import { entries } from "../shared/fhir.js";
import { t } from "../shared/i18n.js";
import { joinLink } from "../shared/video.js";

async function freeSlots(client) {
  const bundle = await client.get("/fhir/Slot", { status: "free", start: `ge${new Date().toISOString().slice(0, 19)}Z`, _count: 6 });
  return entries(bundle);
}

function slotPicker(client, title, onPick) {
  const box = el("div", { class: "card slot-picker" }, el("h3", { text: title }), el("p", { class: "muted", text: t("loading") }));
  freeSlots(client).then((slots) => {
    box.lastChild.replaceWith(slots.length
      ? el("div", { class: "row" }, slots.map((slot) => el("button", { class: "secondary", onclick: () => onPick(slot) }, fmtTime(slot.start))))
      : el("p", { class: "muted", text: t("no_free_slots") }));
  });
  return box;
}

export async function renderConsults(root, client, patientId) {
  const message = el("p", { class: "notice", role: "status" });
  const refresh = (note) => renderConsults(root, client, patientId).then(() => { root.querySelector("[role=status]").textContent = note || ""; });
  const fail = (error) => { message.textContent = t("action_failed", { error: error.message }); };
  root.replaceChildren(el("h2", { text: t("tab_consults") }), el("p", { class: "muted", text: t("loading") }));
  const booked = entries(await client.get("/fhir/Appointment", { patient: patientId, status: "booked", _count: 20 }))
    .sort((a, b) => String(a.start).localeCompare(String(b.start)));
  const list = el("ul", { class: "plain", id: "consult-list" }, booked.map((appt) => el("li", { "data-appointment": appt.id },
    el("strong", { text: fmtTime(appt.start) }), " ",
    el("div", { class: "row" },
      el("button", { onclick: async () => { try { window.open(await joinLink(client, { appointment: appt.id }), "_blank", "noopener"); } catch (e) { fail(e); } } }, t("join")),
      el("button", { class: "secondary", onclick: (event) => event.target.closest("li").append(slotPicker(client, t("pick_new_time"), async (slot) => {
        try {
          await client.post(`/fhir/Appointment/${appt.id}/$reschedule`,
            { resourceType: "Parameters", parameter: [{ name: "slot", valueReference: { reference: `Slot/${slot.id}` } }] },
            { headers: { "Idempotency-Key": crypto.randomUUID() } });
          await refresh(t("rescheduled"));
        } catch (e) { fail(e); }
      })) }, t("reschedule")),
      el("button", { class: "secondary", onclick: async () => {
        if (!confirm(t("cancel_confirm"))) return;
        try { await client.post(`/fhir/Appointment/${appt.id}/$cancel`, {}); await refresh(t("cancelled")); } catch (e) { fail(e); }
      } }, t("cancel_consult"))))));
  if (!booked.length) list.append(el("li", { class: "muted", text: t("no_consults") }));
  const book = el("button", { id: "book-consult", onclick: () => root.append(slotPicker(client, t("pick_a_time"), async (slot) => {
    try {
      await client.post("/fhir/Appointment", {
        resourceType: "Appointment", status: "booked", slot: [{ reference: `Slot/${slot.id}` }],
        participant: [{ actor: { reference: `Patient/${patientId}` }, status: "accepted" }],
      }, { headers: { "Idempotency-Key": crypto.randomUUID() } });
      await refresh(t("booked"));
    } catch (e) { fail(e); }
  })) }, t("book_consult"));
  root.replaceChildren(el("h2", { text: t("tab_consults") }), message, list, book);
}
