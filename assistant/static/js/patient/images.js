// "Cloud film": the patient's imaging studies, a preview, and share links for another doctor.
import { el, fmtTime } from "../shared/dom.js";
import { entries } from "../shared/fhir.js";
import { t } from "../shared/i18n.js";
import { studyUid } from "../shared/imaging.js";
import { Viewer } from "../shared/viewer.js";

export async function renderImages(root, client, patientId) {
  root.replaceChildren(el("h2", { text: t("tab_images") }), el("p", { class: "muted", text: t("loading") }));
  const studies = entries(await client.get("/fhir/ImagingStudy", { patient: patientId, _count: 50 }));
  const viewerBox = el("div", { id: "patient-viewer" });
  const list = el("ul", { class: "plain", id: "study-list" }, studies.map((study) => {
    const link = el("p", { class: "share-link" });
    return el("li", { "data-study": studyUid(study) },
      el("strong", { text: study.description || t("imaging_study") }), " ",
      el("span", { class: "muted", text: `${(study.modality || []).map((m) => m.code).join(", ")} ${fmtTime(study.started)}` }),
      el("div", { class: "row" },
        el("button", { class: "secondary", onclick: () => new Viewer(viewerBox, client).open(study) }, t("view")),
        el("button", { class: "secondary", onclick: async () => {
          try {
            const share = await client.post("/dicomweb/shares", { studies: [studyUid(study)] });
            link.replaceChildren(t("share_link_ready", { time: fmtTime(share.expires) }), " ",
              el("input", { readonly: true, value: share.url, size: 40, "aria-label": t("share_link") }));
          } catch (error) { link.textContent = t("action_failed", { error: error.message }); }
        } }, t("share"))),
      link);
  }));
  if (!studies.length) list.append(el("li", { class: "muted", text: t("no_images") }));
  root.replaceChildren(el("h2", { text: t("tab_images") }), list, viewerBox);
}
