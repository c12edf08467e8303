// Encounters and summaries, newest first, on one line each.
import { el, fmtTime } from "../shared/dom.js";
import { narrativeItems } from "../shared/fhir.js";
import { t } from "../shared/i18n.js";

export function timelineView(encounters, compositions) {
  const events = [
    ...encounters.map((e) => ({ when: e.period?.start || e.meta?.lastUpdated, kind: t("encounter"),
      text: e.type?.[0]?.text || e.class?.display || e.class?.code || "", status: e.status })),
    ...compositions.map((c) => ({ when: c.date, kind: c.title || t("summary"), status: c.status,
      text: narrativeItems((c.section || []).find((s) => s.code?.text === "chief_complaint")?.text?.div).join("; ") })),
  ].sort((a, b) => String(b.when).localeCompare(String(a.when)));
  const list = el("ul", { class: "plain", id: "timeline" }, events.map((event) => el("li", {},
    el("strong", { text: fmtTime(event.when) }), ` — ${event.kind}: ${event.text} `,
    el("span", { class: "badge", text: event.status }))));
  if (!events.length) list.append(el("li", { class: "muted", text: t("nothing_yet") }));
  return el("section", { class: "card" }, el("h3", { text: t("timeline") }), list);
}
