// AudioWorklet: microphone (any rate) -> 16 kHz mono PCM16, posted as 20 ms frames (320 samples).
// Linear interpolation is enough here: the browser's voice processing already band-limits speech.
const TARGET_RATE = 16000;
const FRAME = 320;

class Pcm16Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE;
    this.pos = 0;          // where the next output sample falls, in this block's sample index
    this.prev = 0;         // last sample of the previous block (index -1)
    this.frame = new Int16Array(FRAME);
    this.fill = 0;
  }

  push(value) {
    const clamped = Math.max(-1, Math.min(1, value));
    this.frame[this.fill++] = clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff;
    if (this.fill === FRAME) {
      this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
      this.frame = new Int16Array(FRAME);
      this.fill = 0;
    }
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input || input.length === 0) return true;
    const n = input.length;
    let t = this.pos;
    while (t <= n - 1) {
      const i = Math.floor(t);
      const a = i < 0 ? this.prev : input[i];
      const b = i + 1 < n ? input[i + 1] : a;
      this.push(a + (b - a) * (t - i));
      t += this.step;
    }
    this.pos = t - n;
    this.prev = input[n - 1];
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
