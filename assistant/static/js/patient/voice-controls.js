// Push-to-talk and hands-free buttons over one VoiceLink, opened on first use.
import { $ } from "../shared/dom.js";
import { t } from "../shared/i18n.js";
import { VoiceLink } from "./voice.js";

export function setupVoice(chat, language) {
  let link = null;
  const state = $("#voice-state");

  async function ensureLink() {
    if (link) return link;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    link = new VoiceLink({
      url: `${scheme}://${location.host}/v1/sessions/${chat.sessionId}/audio?token=${encodeURIComponent(chat.token)}`,
      language: language(),
      onEvent: (event) => {
        if (event.type === "partial_transcript") state.textContent = t("heard", { text: event.text });
        chat.handle(event);
      },
      onState: (s) => { state.textContent = t(`voice_${s}`); if (s === "closed") link = null; },
    });
    try { await link.start(); } catch (error) {
      state.textContent = t("voice_unavailable");
      link = null;
      throw error;
    }
    return link;
  }

  const ptt = $("#ptt");
  const press = async (down) => {
    try { (await ensureLink()).press(down); } catch { return; }
    ptt.classList.toggle("secondary", !down);
    if (down) state.textContent = t("voice_listening");
  };
  ptt.addEventListener("pointerdown", () => press(true));
  for (const name of ["pointerup", "pointerleave"]) ptt.addEventListener(name, () => link && press(false));

  const handsFree = $("#hands-free");
  handsFree.addEventListener("click", async () => {
    let current;
    try { current = await ensureLink(); } catch { return; }
    current.handsFree = !current.handsFree;
    handsFree.setAttribute("aria-pressed", String(current.handsFree));
    handsFree.textContent = t(current.handsFree ? "hands_free_off" : "hands_free_on");
  });
  addEventListener("beforeunload", () => link?.stop());
}
