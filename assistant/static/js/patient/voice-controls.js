// Push-to-talk and hands-free buttons over one VoiceLink, opened on first use.
import { $ } from "../shared/dom.js";
import { t } from "../shared/i18n.js";
import { VoiceLink } from "./voice.js";

export function setupVoice(chat, language) {
  let link = null;
  let error = null;
  const state = $("#voice-state");
  const handsFree = $("#hands-free");
  const ptt = $("#ptt");

  /** One line for where voice stands: a problem, connecting, listening, or ready. */
  function describe() {
    if (error) state.textContent = t("voice_error", { code: error });
    else if (!link) state.textContent = t("voice_closed");
    else if (!link.ready) state.textContent = t("voice_connecting");
    else state.textContent = t(link.talking || link.handsFree ? "voice_listening" : "voice_ready");
    handsFree.textContent = t(link?.handsFree ? "hands_free_off" : "hands_free_on");
    handsFree.setAttribute("aria-pressed", String(Boolean(link?.handsFree)));
    ptt.classList.toggle("secondary", !link?.talking);
  }

  async function ensureLink() {
    if (link) return link;
    await chat.opened;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    error = null;
    link = new VoiceLink({
      url: `${scheme}://${location.host}/v1/sessions/${chat.sessionId}/audio?token=${encodeURIComponent(chat.token)}`,
      language: language(),
      onEvent: (event) => {
        if (event.type === "partial_transcript") { state.textContent = t("heard", { text: event.text }); return; }
        if (event.type === "error") { error = event.code; describe(); return; }
        chat.handle(event);
      },
      onState: (s) => { if (s === "closed") link = null; describe(); },
    });
    describe();
    try { await link.start(); } catch (problem) {
      error = "microphone";
      link = null;
      describe();
      throw problem;
    }
    return link;
  }

  const press = async (down) => {
    try { (await ensureLink()).press(down); } catch { return; }
    describe();
  };
  ptt.addEventListener("pointerdown", () => press(true));
  for (const name of ["pointerup", "pointerleave"]) ptt.addEventListener(name, () => link && press(false));

  handsFree.addEventListener("click", async () => {
    let current;
    try { current = await ensureLink(); } catch { return; }
    current.handsFree = !current.handsFree;
    describe();
  });
  addEventListener("langchange", () => { if (link || error) describe(); });
  addEventListener("beforeunload", () => link?.stop());
}
