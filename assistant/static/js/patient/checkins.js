// Follow-up check-ins from the patient's active CarePlans; "start" hands over to the chat.
import { el, fmtTime } from "../shared/dom.js";
import { entries } from "../shared/fhir.js";
import { t } from "../shared/i18n.js";

export async function renderCheckins(root, client, patientId, startInChat) {
  root.replaceChildren(el("h2", { text: t("tab_checkins") }), el("p", { class: "muted", text: t("loading") }));
  const plans = entries(await client.get("/fhir/CarePlan", { patient: patientId, status: "active", _count: 20 }));
  const items = plans.flatMap((plan) => (plan.activity || []).map((activity) => {
    const detail = activity.detail || {};
    const when = detail.scheduledPeriod?.start || detail.scheduledString || "";
    return { when, status: detail.status || "", what: detail.description || detail.code?.text || t("checkin") };
  })).sort((a, b) => String(a.when).localeCompare(String(b.when)));
  const list = el("ul", { class: "plain", id: "checkin-list" }, items.map((item) => el("li", {},
    el("strong", { text: item.what }), " — ", fmtTime(item.when), " ",
    el("span", { class: "badge", text: t(`activity_${item.status}`) }))));
  if (!items.length) list.append(el("li", { class: "muted", text: t("no_checkins") }));
  root.replaceChildren(el("h2", { text: t("tab_checkins") }), list,
    el("button", { id: "start-checkin", onclick: () => startInChat(t("checkin_prompt")) }, t("start_checkin")));
}
