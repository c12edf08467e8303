// Patient app: chat (text and voice), emergency banner, consults, check-ins, images, text size, language.
import { makeClient } from "../shared/api.js";
import { $, show } from "../shared/dom.js";
import { EMERGENCY_LEVELS } from "../shared/fhir.js";
import { currentLang, t } from "../shared/i18n.js";
import { pageReady, startPage } from "../shared/page.js";
import { Chat } from "./chat.js";
import { renderCheckins } from "./checkins.js";
import { renderConsults } from "./consults.js";
import { renderImages } from "./images.js";
import { setupVoice } from "./voice-controls.js";

const LARGE_KEY = "careline.large";

function setupTabs(renderers) {
  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll("[data-tab]")) {
        const active = other === tab;
        other.setAttribute("aria-selected", String(active));
        show($(`#panel-${other.dataset.tab}`), active);
      }
      renderers[tab.dataset.tab]?.();
    });
  }
}

function setupLargeText() {
  const apply = (on) => { document.documentElement.classList.toggle("large", on); localStorage.setItem(LARGE_KEY, on ? "1" : ""); };
  apply(localStorage.getItem(LARGE_KEY) === "1");
  $("#large-toggle").addEventListener("click", () => apply(!document.documentElement.classList.contains("large")));
}

function onTriage(event) {
  const badge = $("#triage-badge");
  badge.className = `badge level-${event.level}`;
  badge.textContent = t(`level_${event.level}`);
  badge.dataset.level = event.level;
  if (EMERGENCY_LEVELS.has(event.level)) showEmergency();
}

function showEmergency() {
  const banner = $("#emergency-banner");
  banner.textContent = t("emergency_banner");
  show(banner, true);
}

async function main() {
  const started = await startPage("patient");
  if (!started) return;
  const { session, config } = started;
  const client = makeClient(config.clinical_url, session.token);
  const chat = new Chat({
    token: session.token, log: $("#chat-log"),
    onTriage, onEscalation: (e) => { if (EMERGENCY_LEVELS.has(e.level)) showEmergency(); else $("#chat-notice").textContent = t("escalated_to_doctor"); },
    onSummary: () => { $("#chat-notice").textContent = t("summary_sent"); },
    onAppointment: () => renderConsults($("#panel-consults"), client, session.patientId),
  });
  $("#chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#chat-input").value.trim();
    if (text) { chat.send(text); $("#chat-input").value = ""; }
  });
  setupVoice(chat, currentLang);
  setupLargeText();
  setupTabs({
    consults: () => renderConsults($("#panel-consults"), client, session.patientId),
    checkins: () => renderCheckins($("#panel-checkins"), client, session.patientId, (text) => {
      document.querySelector('[data-tab="chat"]').click(); chat.send(text);
    }),
    images: () => renderImages($("#panel-images"), client, session.patientId),
  });
  addEventListener("langchange", (event) => {
    chat.restart(event.detail);
    const badge = $("#triage-badge");
    if (badge.dataset.level) badge.textContent = t(`level_${badge.dataset.level}`);
    if (!$("#emergency-banner").classList.contains("hidden")) showEmergency();
  });
  pageReady();
  await chat.open(currentLang());
}

main();
