// Signs out after a quiet spell or when the token expires, whichever comes first.
import { currentSession, signOut } from "./session.js";

const ACTIVITY = ["pointerdown", "keydown", "wheel", "touchstart"];

export function startIdleWatch(timeoutS) {
  let last = Date.now();
  const touch = () => { last = Date.now(); };
  for (const name of ACTIVITY) addEventListener(name, touch, { passive: true });
  setInterval(() => {
    if (!currentSession()) signOut("expired");
    else if (Date.now() - last > timeoutS * 1000) signOut("idle");
  }, 1000);
}
