// Editing a summary stores a new Composition version (If-Match guards against a colleague's edit).
import { el } from "../shared/dom.js";
import { narrativeDiv, narrativeItems } from "../shared/fhir.js";
import { t } from "../shared/i18n.js";

export function editForm(client, composition, rerender) {
  document.querySelector("#edit-form")?.remove();
  const linkedOnly = new Set(["questionnaire_response", "transcript"]);  // sections that point elsewhere
  const editable = (composition.section || []).filter((s) => !linkedOnly.has(s.code?.text));
  const areas = editable.map((section) => el("textarea", { "data-section": section.code?.text, "aria-label": section.title },
    narrativeItems(section.text?.div).join("\n")));
  const error = el("p", { class: "error", role: "alert" });
  async function save(event) {
    event.preventDefault();
    const body = structuredClone(composition);
    delete body.meta;
    for (const area of areas) {
      const section = body.section.find((s) => s.code?.text === area.dataset.section);
      section.text = { status: "additional", div: narrativeDiv(area.value.split("\n")) };
    }
    try {
      await client.put(`/fhir/Composition/${composition.id}`, body, { headers: { "If-Match": `W/"${composition.meta?.versionId}"` } });
      await rerender(t("saved"));
    } catch (err) {
      error.textContent = err.status === 412 ? t("edit_conflict") : t("action_failed", { error: err.message });
    }
  }
  return el("form", { id: "edit-form", class: "card", onsubmit: save },
    el("h3", { text: t("edit_summary") }),
    editable.map((section, i) => el("label", {}, el("strong", { text: section.title }), areas[i])),
    error,
    el("div", { class: "row" }, el("button", { type: "submit", id: "save-summary" }, t("save")),
      el("button", { type: "button", class: "secondary", onclick: (e) => e.target.closest("form").remove() }, t("cancel"))));
}
