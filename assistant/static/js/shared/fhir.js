// Reading FHIR resources the way the consoles need them.
export const PRIORITY_RANK = { stat: 0, asap: 1, urgent: 2, routine: 3 };
export const EMERGENCY_LEVELS = new Set(["emergency_ambulance", "emergency"]);

export const entries = (bundle) => (bundle?.entry || []).map((entry) => entry.resource).filter(Boolean);
export const refId = (ref) => (ref?.reference || ref || "").split("/").pop();

export function taskLevel(task) {
  const input = (task.input || []).find((item) => (item.type?.coding || []).some((c) => c.code === "triage-level"));
  return input?.valueCode || null;
}

export function taskRule(task) { return task.reasonCode?.coding?.[0]?.code || null; }

/** Most urgent first, then the longest waiting. */
export function sortQueue(tasks) {
  const rank = (task) => PRIORITY_RANK[task.priority] ?? 9;
  return [...tasks].sort((a, b) => rank(a) - rank(b) || String(a.authoredOn).localeCompare(String(b.authoredOn)));
}

export function patientName(patient) {
  const name = patient?.name?.[0];
  if (!name) return refId(patient?.id) || "";
  return [...(name.given || []), name.family].filter(Boolean).join(" ");
}

/** The plain text (items, or one paragraph) inside a narrative div, parsed inertly. */
export function narrativeItems(div) {
  const doc = new DOMParser().parseFromString(div || "", "text/html");
  const items = [...doc.querySelectorAll("li")].map((li) => li.textContent.trim());
  return items.length ? items : [doc.body.textContent.trim()].filter(Boolean);
}

const escape = (text) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

export function narrativeDiv(lines) {
  const items = lines.map((line) => line.trim()).filter(Boolean);
  if (items.length <= 1) return `<div xmlns="http://www.w3.org/1999/xhtml">${escape(items[0] || "none stated")}</div>`;
  return `<div xmlns="http://www.w3.org/1999/xhtml"><ul>${items.map((i) => `<li>${escape(i)}</li>`).join("")}</ul></div>`;
}

export const joinUrl = (resource) =>
  (resource.extension || []).find((ext) => ext.url.endsWith("/join-url"))?.valueUrl || null;
