// Follow-up readings (Observations) grouped by code, each drawn as a trend.
import { el } from "../shared/dom.js";
import { t } from "../shared/i18n.js";
import { trendChart } from "./trend.js";

function seriesOf(observations) {
  const groups = new Map();
  const add = (code, label, unit, when, value) => {
    if (value === undefined || value === null || !when) return;
    if (!groups.has(code)) groups.set(code, { label, unit, points: [] });
    groups.get(code).points.push({ at: new Date(when), value: Number(value) });
  };
  for (const obs of observations) {
    const when = obs.effectiveDateTime || obs.issued;
    const code = obs.code?.coding?.[0]?.code || obs.code?.text;
    const label = obs.code?.text || obs.code?.coding?.[0]?.display || code;
    if (obs.valueQuantity) add(code, label, obs.valueQuantity.unit, when, obs.valueQuantity.value);
    for (const part of obs.component || []) {
      const partCode = part.code?.coding?.[0]?.code || part.code?.text;
      add(`${code}/${partCode}`, `${label}: ${part.code?.text || part.code?.coding?.[0]?.display || partCode}`,
        part.valueQuantity?.unit, when, part.valueQuantity?.value);
    }
  }
  return [...groups.values()].map((g) => ({ ...g, points: g.points.sort((a, b) => a.at - b.at) }));
}

export function readingsView(observations) {
  const series = seriesOf(observations);
  return el("section", { class: "card trend", id: "readings" }, el("h3", { text: t("readings") }),
    series.length ? series.map((s) => trendChart(s)) : el("p", { class: "muted", text: t("no_readings") }));
}
