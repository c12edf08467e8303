// What the patient said: the stored transcript section if the record has one, else the answers given.
import { el } from "../shared/dom.js";
import { narrativeItems, refId } from "../shared/fhir.js";
import { t } from "../shared/i18n.js";

function answerText(answer) {
  const [key] = Object.keys(answer).filter((k) => k.startsWith("value"));
  const value = answer[key];
  if (value && typeof value === "object") return value.display || value.code || value.value || JSON.stringify(value);
  return String(value ?? "");
}

function flatten(items, out = []) {
  for (const item of items || []) {
    if (item.answer?.length) out.push([item.text || item.linkId, item.answer.map(answerText).join(", ")]);
    flatten(item.item, out);
  }
  return out;
}

export async function transcriptView(client, composition) {
  const section = el("section", { id: "transcript" }, el("h3", { text: t("transcript") }));
  const stored = (composition.section || []).find((s) => s.code?.text === "transcript");
  if (stored) {
    section.append(el("ol", {}, narrativeItems(stored.text?.div).map((line) => el("li", { text: line }))));
    return section;
  }
  section.append(el("p", { class: "muted", text: t("transcript_not_stored") }));
  const answers = (composition.section || []).find((s) => s.code?.text === "questionnaire_response");
  const ref = answers?.entry?.[0];
  if (!ref) return section;
  try {
    const response = await client.get(`/fhir/QuestionnaireResponse/${refId(ref)}`);
    const rows = flatten(response.item);
    section.append(el("h4", { text: t("answers") }),
      el("dl", { class: "fields" }, rows.flatMap(([q, a]) => [el("dt", { text: q }), el("dd", { text: a })])));
  } catch (error) {
    section.append(el("p", { class: "error", text: t("action_failed", { error: error.message }) }));
  }
  return section;
}
