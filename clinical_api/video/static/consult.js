// Careline consult page: camera and microphone, a full-mesh WebRTC call through the signalling socket,
// connection quality from getStats, reconnect after a drop, and a shared DICOM image panel with strokes.
// Vanilla JS, no build step. The join token arrives in the URL fragment (never sent to the server in a
// URL) and is kept in sessionStorage so a reload rejoins.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const roomId = params.get("room") || "";
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) sessionStorage.setItem("careline-video:" + roomId, fragment.get("token"));
if (fragment.get("api")) sessionStorage.setItem("careline-api-token", fragment.get("api"));
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
const joinToken = sessionStorage.getItem("careline-video:" + roomId);
const apiToken = sessionStorage.getItem("careline-api-token"); // optional: lets the image panel use DICOMweb

const FINAL_CODES = new Set([4401, 4403, 4404, 4409, 4410, 4429]);
const call = {
  ws: null,
  me: null,
  self: null,
  ice: [],
  local: null,
  peers: new Map(), // id -> {info, pc, offerer, tile, stream, restartTimer, lastStats}
  retries: 0,
  finished: false,
  view: null,
  strokes: [],
};

function log(text) {
  const line = `${new Date().toISOString().slice(11, 19)} ${text}\n`;
  $("log").textContent = (line + $("log").textContent).slice(0, 4000);
}

function setState(text, kind) {
  $("state").textContent = text;
  $("state").dataset.state = kind || text;
}

function send(message) {
  if (call.ws && call.ws.readyState === WebSocket.OPEN) call.ws.send(JSON.stringify(message));
}

// --- local media -----------------------------------------------------------------------------------

async function startMedia() {
  try {
    call.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    $("local").srcObject = call.local;
  } catch (err) {
    log(`no camera/microphone (${err.name}); joining to watch and listen only`);
    call.local = null;
  }
}

function toggle(kind, button, onText, offText) {
  if (!call.local) return;
  const tracks = kind === "audio" ? call.local.getAudioTracks() : call.local.getVideoTracks();
  const muted = button.getAttribute("aria-pressed") !== "true";
  tracks.forEach((t) => { t.enabled = !muted; });
  button.setAttribute("aria-pressed", String(muted));
  button.textContent = muted ? offText : onText;
}

// --- peer connections ------------------------------------------------------------------------------

function tileFor(peer) {
  const fig = document.createElement("figure");
  fig.className = "tile remote";
  fig.dataset.peer = peer.info.id;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  video.className = "remote-video";
  const cap = document.createElement("figcaption");
  cap.textContent = `${peer.info.role || ""} ${peer.info.user || ""}`.trim();
  fig.append(video, cap);
  $("remotes").append(fig);
  return fig;
}

function createPeer(info, offerer) {
  closePeer(info.id);
  const pc = new RTCPeerConnection({ iceServers: call.ice });
  const peer = { info, pc, offerer, stream: new MediaStream(), tile: null, restartTimer: null, lastStats: null };
  peer.tile = tileFor(peer);
  peer.tile.querySelector("video").srcObject = peer.stream;
  if (call.local) {
    call.local.getTracks().forEach((t) => pc.addTrack(t, call.local));
  } else {
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
  }
  pc.onicecandidate = (e) => send({ type: "ice", to: info.id, candidate: e.candidate ? e.candidate.toJSON() : null });
  pc.ontrack = (e) => {
    peer.stream.addTrack(e.track);
    const video = peer.tile.querySelector("video");
    video.play().catch(() => log("click the page to start remote audio"));
  };
  pc.onconnectionstatechange = () => {
    onPeerState(peer);
    updateState();
  };
  call.peers.set(info.id, peer);
  return peer;
}

function closePeer(id) {
  const peer = call.peers.get(id);
  if (!peer) return;
  clearTimeout(peer.restartTimer);
  peer.pc.close();
  peer.tile.remove();
  call.peers.delete(id);
}

async function makeOffer(peer, restart) {
  const offer = await peer.pc.createOffer(restart ? { iceRestart: true } : {});
  await peer.pc.setLocalDescription(offer);
  send({ type: "offer", to: peer.info.id, sdp: peer.pc.localDescription.sdp, restart: !!restart });
}

// A dropped media path: the side that offered restarts ICE (the other side answers the new offer).
function onPeerState(peer) {
  const state = peer.pc.connectionState;
  clearTimeout(peer.restartTimer);
  if ((state === "disconnected" || state === "failed") && peer.offerer) {
    peer.restartTimer = setTimeout(() => {
      if (call.peers.get(peer.info.id) === peer && peer.pc.connectionState !== "connected") {
        log(`restarting ICE with ${peer.info.user}`);
        makeOffer(peer, true).catch((err) => log(`ICE restart failed: ${err}`));
      }
    }, state === "failed" ? 0 : 2000);
  }
}

function updateState() {
  if (call.finished) return;
  const states = [...call.peers.values()].map((p) => p.pc.connectionState);
  if (!call.ws || call.ws.readyState !== WebSocket.OPEN) setState("reconnecting");
  else if (states.length === 0) setState("waiting for others", "waiting");
  else if (states.includes("connected")) setState("connected");
  else if (states.some((s) => s === "disconnected" || s === "failed")) setState("reconnecting");
  else setState("connecting");
}

async function onMessage(msg) {
  switch (msg.type) {
    case "ice-servers":
      call.ice = msg.iceServers;
      break;
    case "peers":
      call.retries = 0;
      call.me = msg.you;
      call.self = msg.self;
      document.querySelectorAll(".staff").forEach((el) => { el.hidden = !["nurse", "doctor"].includes(msg.self.role); });
      [...call.peers.keys()].forEach(closePeer);
      for (const info of msg.peers) makeOffer(createPeer(info, true), false).catch((e) => log(`offer failed: ${e}`));
      if (msg.view) applyView(msg.view);
      call.strokes = msg.strokes || [];
      drawStrokes();
      updateState();
      break;
    case "joined":
      log(`${msg.peer.user} joined`);
      createPeer(msg.peer, false);
      updateState();
      break;
    case "left":
      if (call.peers.has(msg.peer)) log(`${call.peers.get(msg.peer).info.user} left`);
      closePeer(msg.peer);
      updateState();
      break;
    case "offer": {
      let peer = call.peers.get(msg.from);
      if (!peer) peer = createPeer({ id: msg.from }, false);
      await peer.pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
      await peer.pc.setLocalDescription(await peer.pc.createAnswer());
      send({ type: "answer", to: msg.from, sdp: peer.pc.localDescription.sdp });
      break;
    }
    case "answer": {
      const peer = call.peers.get(msg.from);
      if (peer) await peer.pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      break;
    }
    case "ice": {
      const peer = call.peers.get(msg.from);
      if (peer && msg.candidate && msg.candidate.candidate) {
        await peer.pc.addIceCandidate(msg.candidate).catch((e) => log(`bad candidate: ${e}`));
      }
      break;
    }
    case "view":
      applyView(msg);
      break;
    case "stroke":
      call.strokes.push(msg);
      drawStrokes();
      break;
    case "clear":
      call.strokes = [];
      drawStrokes();
      break;
    case "pointer":
      showPointer(msg.x, msg.y);
      break;
    case "ended":
      finish("ended", "the consult has ended");
      break;
    case "error":
      log(`server: ${msg.message}`);
      break;
    default:
      break;
  }
}

// --- signalling socket with reconnect ----------------------------------------------------------------

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/video/rooms/${encodeURIComponent(roomId)}/signal`);
  call.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: joinToken }));
  ws.onmessage = (e) => onMessage(JSON.parse(e.data)).catch((err) => log(`error: ${err}`));
  ws.onclose = (e) => {
    if (call.ws !== ws || call.finished) return;
    if (FINAL_CODES.has(e.code)) {
      finish(e.code === 4410 ? "ended" : "refused", e.reason || `closed (${e.code})`);
      return;
    }
    // a network drop: rejoin with backoff (the others see us leave and re-offer when we are back)
    const delay = Math.min(8000, 500 * 2 ** call.retries++);
    setState("reconnecting");
    log(`signalling lost (${e.code}); rejoining in ${delay} ms`);
    setTimeout(connect, delay);
  };
}

function finish(kind, reason) {
  call.finished = true;
  setState(kind === "ended" ? "ended" : `refused: ${reason}`, kind);
  log(reason);
  [...call.peers.keys()].forEach(closePeer);
  if (call.local) call.local.getTracks().forEach((t) => t.stop());
  if (call.ws) call.ws.close();
}

// --- connection quality from getStats -------------------------------------------------------------------

async function sampleQuality() {
  let rtt = null;
  let lost = 0;
  let received = 0;
  for (const peer of call.peers.values()) {
    if (peer.pc.connectionState !== "connected") continue;
    const stats = await peer.pc.getStats();
    let pairRtt = null;
    let pLost = 0;
    let pRecv = 0;
    stats.forEach((s) => {
      if (s.type === "candidate-pair" && s.state === "succeeded" && s.nominated && s.currentRoundTripTime !== undefined) {
        pairRtt = s.currentRoundTripTime;
      }
      if (s.type === "inbound-rtp") {
        pLost += s.packetsLost || 0;
        pRecv += s.packetsReceived || 0;
      }
    });
    const last = peer.lastStats || { lost: 0, recv: 0 };
    lost += Math.max(0, pLost - last.lost);
    received += Math.max(0, pRecv - last.recv);
    peer.lastStats = { lost: pLost, recv: pRecv };
    if (pairRtt !== null) rtt = Math.max(rtt || 0, pairRtt);
  }
  const q = $("quality");
  if (rtt === null && received === 0) {
    q.dataset.level = "unknown";
    q.textContent = "quality: –";
    return;
  }
  const loss = received + lost > 0 ? (100 * lost) / (received + lost) : 0;
  const ms = rtt === null ? null : Math.round(rtt * 1000);
  const level = (ms === null || ms < 150) && loss < 2 ? "good" : (ms === null || ms < 400) && loss < 8 ? "fair" : "poor";
  q.dataset.level = level;
  q.dataset.rttMs = ms === null ? "" : String(ms);
  q.dataset.lossPct = loss.toFixed(1);
  q.textContent = `quality: ${level} · RTT ${ms === null ? "?" : ms} ms · loss ${loss.toFixed(1)}%`;
}

// --- shared image panel ----------------------------------------------------------------------------------

const UID = /^[0-9]+(\.[0-9]+)*$/;
let renderSeq = 0;

function readView() {
  return {
    study: $("study").value.trim(),
    series: $("series").value.trim(),
    instance: $("instance").value.trim(),
    frame: Math.max(1, parseInt($("frame").value, 10) || 1),
    center: Number($("wc").value) || 0,
    width: Math.max(1, Number($("ww").value) || 1),
  };
}

function shareView(view) {
  if (![view.study, view.series, view.instance].every((u) => UID.test(u))) {
    $("panel-status").textContent = "Study, series and instance must be DICOM UIDs (digits and dots).";
    return;
  }
  applyView(view);
  send({ type: "view", ...view });
}

async function applyView(view) {
  const changedImage = !call.view || ["study", "series", "instance", "frame"].some((k) => call.view[k] !== view[k]);
  call.view = { study: view.study, series: view.series, instance: view.instance, frame: view.frame, center: view.center, width: view.width };
  $("study").value = view.study;
  $("series").value = view.series;
  $("instance").value = view.instance;
  $("frame").value = view.frame;
  $("wc").value = view.center;
  $("ww").value = view.width;
  if (changedImage) call.strokes = [];
  drawStrokes();
  const seq = ++renderSeq;
  const url = `/dicomweb/studies/${view.study}/series/${view.series}/instances/${view.instance}/frames/${view.frame}/rendered`
    + `?window=${encodeURIComponent(`${view.center},${view.width},linear`)}`;
  const headers = { Accept: "image/png, image/jpeg" };
  if (apiToken) headers.Authorization = `Bearer ${apiToken}`;
  $("panel-status").textContent = `Frame ${view.frame} · window ${view.center}/${view.width} · loading…`;
  try {
    const resp = await fetch(url, { headers });
    if (seq !== renderSeq) return;
    if (!resp.ok) {
      const why = resp.status === 401 || resp.status === 403 ? "you are not permitted to view this image" : `image not available (${resp.status})`;
      $("panel-status").textContent = `Frame ${view.frame}: ${why}`;
      return;
    }
    const blob = await resp.blob();
    const img = $("frame-img");
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(blob);
    $("panel-status").textContent = `Frame ${view.frame} · window ${view.center}/${view.width}`;
  } catch (err) {
    if (seq === renderSeq) $("panel-status").textContent = `image not available (${err})`;
  }
}

function drawStrokes() {
  const canvas = $("ink");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  for (const s of call.strokes) drawStroke(ctx, s);
}

function drawStroke(ctx, s) {
  if (!s.points || s.points.length === 0) return;
  ctx.strokeStyle = s.color || "#ffcc00";
  ctx.lineWidth = s.width || 2;
  ctx.lineJoin = "round";
  ctx.lineCap = "round";
  ctx.beginPath();
  s.points.forEach(([x, y], i) => {
    const px = x * ctx.canvas.width;
    const py = y * ctx.canvas.height;
    if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
  });
  ctx.stroke();
}

function showPointer(x, y) {
  const dot = $("pointer");
  dot.hidden = false;
  dot.style.left = `${x * 100}%`;
  dot.style.top = `${y * 100}%`;
  clearTimeout(showPointer.timer);
  showPointer.timer = setTimeout(() => { dot.hidden = true; }, 3000);
}

function panelPoint(e) {
  const r = $("ink").getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, v));
  return [clamp((e.clientX - r.left) / r.width), clamp((e.clientY - r.top) / r.height)];
}

function setupPanel() {
  const ink = $("ink");
  let drawing = null;
  let windowing = null;
  let lastPointer = 0;
  ink.addEventListener("pointerdown", (e) => {
    ink.setPointerCapture(e.pointerId);
    if (e.shiftKey && call.view) {
      windowing = { x: e.clientX, y: e.clientY, center: call.view.center, width: call.view.width };
      return;
    }
    drawing = { id: Math.random().toString(36).slice(2, 14), points: [panelPoint(e)], color: "#ffcc00", width: 3 };
  });
  ink.addEventListener("pointermove", (e) => {
    if (windowing) {
      const view = { ...call.view, center: Math.round(windowing.center + (e.clientY - windowing.y)), width: Math.max(1, Math.round(windowing.width + (e.clientX - windowing.x) * 2)) };
      $("wc").value = view.center;
      $("ww").value = view.width;
      return;
    }
    if (drawing) {
      if (drawing.points.length < 2000) drawing.points.push(panelPoint(e));
      drawStrokes();
      drawStroke(ink.getContext("2d"), drawing);
    } else if (Date.now() - lastPointer > 50) {
      lastPointer = Date.now();
      const [x, y] = panelPoint(e);
      send({ type: "pointer", x, y });
    }
  });
  ink.addEventListener("pointerup", () => {
    if (windowing) {
      windowing = null;
      shareView(readView());
      return;
    }
    if (!drawing) return;
    const stroke = drawing;
    drawing = null;
    call.strokes.push(stroke);
    drawStrokes();
    send({ type: "stroke", ...stroke });
  });
  $("panel").addEventListener("wheel", (e) => {
    if (!call.view) return;
    e.preventDefault();
    const frame = Math.max(1, call.view.frame + (e.deltaY > 0 ? 1 : -1));
    if (frame !== call.view.frame) shareView({ ...call.view, frame });
  }, { passive: false });
  $("view-form").addEventListener("submit", (e) => {
    e.preventDefault();
    shareView(readView());
  });
  $("clear").addEventListener("click", () => {
    call.strokes = [];
    drawStrokes();
    send({ type: "clear" });
  });
}

// --- invite, end, leave ---------------------------------------------------------------------------------

async function roomCall(method, path, body) {
  const resp = await fetch(`/video/rooms/${encodeURIComponent(roomId)}${path}`, {
    method,
    headers: { Authorization: `Bearer ${joinToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error((data.issue && data.issue[0].diagnostics) || `HTTP ${resp.status}`);
  return data;
}

function setupControls() {
  $("mute-audio").addEventListener("click", (e) => toggle("audio", e.currentTarget, "Mute mic", "Unmute mic"));
  $("mute-video").addEventListener("click", (e) => toggle("video", e.currentTarget, "Stop camera", "Start camera"));
  $("invite").addEventListener("click", () => { $("invite-form").hidden = !$("invite-form").hidden; });
  $("invite-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const issued = await roomCall("POST", "/tokens", { user: $("invite-user").value.trim() });
      $("invite-link").value = issued.joinUrl;
      log(`invite created for ${issued.user}`);
    } catch (err) {
      $("invite-link").value = "";
      log(`invite failed: ${err.message}`);
    }
  });
  $("end").addEventListener("click", async () => {
    try {
      await roomCall("POST", "/end");
    } catch (err) {
      log(`could not end: ${err.message}`);
    }
  });
  $("leave").addEventListener("click", () => {
    send({ type: "bye" });
    finish("ended", "you left the consult");
    setState("left", "ended");
  });
}

async function main() {
  setupControls();
  setupPanel();
  if (!roomId || !joinToken) {
    setState("refused: this link has no room or join token", "refused");
    return;
  }
  setState("starting camera", "connecting");
  await startMedia();
  connect();
  setInterval(() => sampleQuality().catch(() => {}), 2000);
  window.addEventListener("online", () => {
    // the network is back: restart ICE on every connection that is not connected
    for (const peer of call.peers.values()) if (peer.offerer && peer.pc.connectionState !== "connected") makeOffer(peer, true).catch(() => {});
  });
}

main();
