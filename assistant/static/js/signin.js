// Sign-in: the assistant passes the credentials to the clinical API; the role picks the page.
import { $, show } from "./shared/dom.js";
import { currentLang, initI18n, setLang, t } from "./shared/i18n.js";
import { HOME, currentSession, saveSession } from "./shared/session.js";

async function signIn(event) {
  event.preventDefault();
  const error = $("#signin-error");
  show(error, false);
  const username = $("#username").value.trim();
  const response = await fetch("/v1/auth/token", {
    method: "POST", body: new URLSearchParams({ username, password: $("#password").value }), cache: "no-store",
  }).catch(() => null);
  if (!response || !response.ok) {
    error.textContent = t(response && response.status === 401 ? "signin_failed" : "service_unavailable");
    show(error, true);
    return;
  }
  const session = saveSession(await response.json(), username);
  const home = HOME[session.role];
  if (!home) { sessionStorage.clear(); error.textContent = t("no_page_for_role"); show(error, true); return; }
  location.assign(home);
}

async function main() {
  await initI18n();
  const reason = new URLSearchParams(location.search).get("reason");
  if (reason) { $("#reason").textContent = t(`reason_${reason}`); show($("#reason"), true); }
  const session = currentSession();
  if (session && HOME[session.role] && reason !== "wrong_role") { location.replace(HOME[session.role]); return; }
  $("#signin").addEventListener("submit", signIn);
  $("#lang-toggle").addEventListener("click", () => setLang(currentLang() === "en" ? "zh" : "en"));
}

main();
