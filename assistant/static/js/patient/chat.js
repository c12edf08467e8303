// Text chat over the assistant's WebSocket: streamed words, structured events, reconnect on drop.
import { el } from "../shared/dom.js";
import { t } from "../shared/i18n.js";
import { signOut } from "../shared/session.js";

export class Chat {
  constructor({ token, log, onTriage, onEscalation, onSummary, onAppointment }) {
    Object.assign(this, { token, log, onTriage, onEscalation, onSummary, onAppointment });
    this.current = null;
    this.pending = [];
    this.opened = new Promise((resolve) => { this.markOpened = resolve; });  // voice waits for the session
  }

  async open(language) {
    const response = await fetch("/v1/sessions", {
      method: "POST", cache: "no-store",
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ language }),
    });
    if (response.status === 401) { signOut("expired"); return; }
    if (!response.ok) { this.system(t("service_unavailable")); return; }
    const body = await response.json();
    this.sessionId = body.id;
    this.markOpened(body.id);
    this.add("assistant", body.greeting);
    this.connect();
  }

  /** A language switch before the patient has said anything starts over in that language. */
  async restart(language) {
    if (this.log.querySelector(".msg.user")) return false;
    const old = this.ws;
    this.ws = null;  // its close event must not reconnect it
    old?.close();
    this.log.replaceChildren();
    this.ready = false;
    await this.open(language);
    return true;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/v1/sessions/${this.sessionId}/stream?token=${encodeURIComponent(this.token)}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (message) => this.handle(JSON.parse(message.data));
    ws.onclose = (event) => {
      if (this.ws !== ws) return;  // replaced by a restart
      if (event.code === 4401) { signOut("expired"); return; }
      this.ready = false;
      setTimeout(() => this.connect(), 2000);
    };
  }

  send(text) {
    this.add("user", text);
    this.current = null;
    if (this.ready) this.ws.send(JSON.stringify({ type: "user_text", text }));
    else this.pending.push(text);
  }

  add(role, text) {
    const node = el("div", { class: `msg ${role}`, "data-role": role, text });
    this.log.append(node);
    this.log.scrollTop = this.log.scrollHeight;
    return node;
  }

  system(text) { this.add("system", text); }

  /** Events from either channel (text stream or voice) land here. */
  handle(event) {
    switch (event.type) {
      case "ready":
        this.ready = true;
        for (const text of this.pending.splice(0)) this.ws.send(JSON.stringify({ type: "user_text", text }));
        break;
      case "assistant_delta":
        this.current ??= this.add("assistant", "");
        this.current.textContent += event.text;
        this.log.scrollTop = this.log.scrollHeight;
        break;
      case "assistant_done":
        if (this.current && event.text) this.current.textContent = event.text;
        else if (!this.current && event.text) this.add("assistant", event.text);
        this.current = null;
        break;
      case "interrupted": this.current = null; break;
      case "triage": this.onTriage(event); break;
      case "escalation": this.onEscalation(event); break;
      case "summary": this.onSummary(event); break;
      case "appointment": this.onAppointment(event); break;
      case "final_transcript": this.add("user", event.text); this.current = null; break;
      case "error": this.system(t("chat_error")); break;
      default: break;
    }
  }
}
