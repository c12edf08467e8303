// What was said: the session transcript (a DocumentReference the summary links to) and the answers given.
import { el, fmtTime } from "../shared/dom.js";
import { refId } from "../shared/fhir.js";
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

function decodeTurns(document) {
  const data = document.content?.[0]?.attachment?.data || "";
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)).turns || [];
}

const linked = (composition, code) => (composition.section || []).find((s) => s.code?.text === code)?.entry?.[0];

async function turnsView(client, ref) {
  const turns = decodeTurns(await client.get(`/fhir/DocumentReference/${refId(ref)}`));
  return el("ol", { class: "plain", id: "transcript-turns" }, turns.map((turn) => el("li", { "data-role": turn.role },
    el("strong", { text: `${t(turn.role === "user" ? "speaker_patient" : "speaker_assistant")}: ` }), turn.text,
    turn.interrupted ? el("span", { class: "muted", text: ` (${t("interrupted")})` }) : null,
    el("span", { class: "muted", text: ` ${turn.at ? fmtTime(new Date(turn.at * 1000).toISOString()) : ""}` }))));
}

async function answersView(client, ref) {
  const rows = flatten((await client.get(`/fhir/QuestionnaireResponse/${refId(ref)}`)).item);
  return el("div", {}, el("h4", { text: t("answers") }),
    el("dl", { class: "fields", id: "answers" }, rows.flatMap(([q, a]) => [el("dt", { text: q }), el("dd", { text: a })])));
}

export async function transcriptView(client, composition) {
  const section = el("section", { id: "transcript" }, el("h3", { text: t("transcript") }));
  const transcript = linked(composition, "transcript");
  const answers = linked(composition, "questionnaire_response");
  const fail = (error) => el("p", { class: "error", text: t("action_failed", { error: error.message }) });
  section.append(transcript ? await turnsView(client, transcript).catch(fail) : el("p", { class: "muted", text: t("transcript_not_stored") }));
  if (answers) section.append(await answersView(client, answers).catch(fail));
  return section;
}
