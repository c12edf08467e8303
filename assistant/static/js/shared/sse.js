// Server-Sent Events over fetch, so the bearer token travels in a header (EventSource cannot send one).
export function followEvents(url, token, onEvent, { onState } = {}) {
  const controller = new AbortController();
  let delay = 1000;

  async function once() {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, signal: controller.signal, cache: "no-store" });
    if (!response.ok) throw new Error(`events ${response.status}`);
    onState?.("live");
    delay = 1000;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  (async () => {
    while (!controller.signal.aborted) {
      try { await once(); } catch { /* reconnect below */ }
      if (controller.signal.aborted) return;
      onState?.("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
  })();
  return () => controller.abort();
}
