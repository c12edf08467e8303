// What every signed-in page does first: role check, wording, idle watch, the shared header buttons.
import { loadConfig } from "./config.js";
import { startIdleWatch } from "./idle.js";
import { currentLang, initI18n, setLang } from "./i18n.js";
import { requireRole, signOut } from "./session.js";
import { $ } from "./dom.js";

export async function startPage(role) {
  const session = requireRole(role);
  if (!session) return null;
  const [config] = await Promise.all([loadConfig(), initI18n()]);
  startIdleWatch(config.idle_timeout_s);
  $("#sign-out")?.addEventListener("click", () => signOut("signed_out"));
  $("#lang-toggle")?.addEventListener("click", () => setLang(currentLang() === "en" ? "zh" : "en"));
  const who = $("#who");
  if (who) who.textContent = session.username || "";
  return { session, config };
}

/** Shows the page once its controls are wired, so no early click is lost. */
export const pageReady = () => document.body.classList.remove("hidden");
