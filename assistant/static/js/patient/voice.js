// The app audio WebSocket (docs/voice.md): mic frames up, PCM16 frames down, marks acknowledged on play.
const RATE = 16000;

export class VoiceLink {
  constructor({ url, language, onEvent, onState }) {
    Object.assign(this, { url, language, onEvent, onState });
    this.talking = false;      // push-to-talk: only send speech while held
    this.handsFree = false;
    this.sources = new Set();
    this.timers = new Set();
  }

  async start() {
    this.ctx = new AudioContext();
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    await this.ctx.audioWorklet.addModule("/js/patient/pcm-capture.js");
    const capture = new AudioWorkletNode(this.ctx, "pcm16-capture");
    const mute = this.ctx.createGain();
    mute.gain.value = 0;
    this.ctx.createMediaStreamSource(this.stream).connect(capture).connect(mute).connect(this.ctx.destination);
    capture.port.onmessage = (message) => this.sendFrame(message.data);
    this.playhead = 0;
    this.ws = new WebSocket(this.url);
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () => this.ws.send(JSON.stringify({
      type: "start", sample_rate: RATE, format: "pcm16", channels: 1, language: this.language, playback_acks: true,
    }));
    this.ws.onmessage = (message) => this.receive(message.data);
    this.ws.onclose = () => { this.ready = false; this.onState("closed"); };
  }

  sendFrame(buffer) {
    if (!this.ready || this.ws.readyState !== WebSocket.OPEN) return;
    // Between presses push-to-talk sends silence, so the server's end-of-turn detection still runs.
    this.ws.send(this.handsFree || this.talking ? buffer : new ArrayBuffer(buffer.byteLength));
  }

  receive(data) {
    if (data instanceof ArrayBuffer) { this.play(data); return; }
    const event = JSON.parse(data);
    if (event.type === "ready") { this.ready = true; this.onState("ready"); }
    else if (event.type === "mark") this.ackWhenPlayed(event.name);
    else if (event.type === "clear") this.clear();
    else this.onEvent(event);
  }

  play(data) {
    const pcm = new Int16Array(data);
    const buffer = this.ctx.createBuffer(1, pcm.length, RATE);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 0x8000;
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.ctx.destination);
    const at = Math.max(this.ctx.currentTime + 0.03, this.playhead);
    source.start(at);
    this.playhead = at + buffer.duration;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  ackWhenPlayed(mark) {
    const delay = Math.max(0, (this.playhead - this.ctx.currentTime) * 1000);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "played", mark }));
    }, delay);
    this.timers.add(timer);
  }

  clear() {
    for (const source of this.sources) { try { source.stop(); } catch { /* already ended */ } }
    this.sources.clear();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.playhead = this.ctx.currentTime;
  }

  /** A press while the assistant speaks interrupts it (a tap is a clear intent, unlike noise). */
  press(down) {
    if (down && this.sources.size && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "interrupt" }));
      this.clear();
    }
    this.talking = down;
  }

  stop() {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "stop" }));
    this.ws?.close();
    this.stream?.getTracks().forEach((track) => track.stop());
    this.ctx?.close();
  }
}
