// The video wall: every feed over WHEP, detection boxes drawn over it, latency per feed.
import { api, el, frame, showAlerts } from "./api.js";
import { connectLive } from "./live.js";
import { WhepPlayer, drawBoxes } from "./whep.js";

frame("wall");
const wall = document.getElementById("wall");
const tiles = new Map(), detections = {};
window.__skyeye = { tiles };

function tile(feed) {
  const video = el("video", { autoplay: "", muted: "", playsinline: "", "data-vehicle": feed.vehicle_id });
  video.muted = true;
  const canvas = el("canvas"), latency = el("span", { class: "latency" }, "connecting…"), stateBox = el("span", {}, "");
  const node = el("div", { class: "feed-panel", "data-feed": feed.vehicle_id }, video, canvas,
    el("div", { class: "caption" }, el("span", {}, el("b", {}, feed.vehicle_id), " ", stateBox), latency));
  const entry = { node, video, latency, player: null, latencyMs: null };
  const play = () => {
    entry.player = new WhepPlayer(video, feed, {
      onLatency: (ms) => { entry.latencyMs = ms; latency.textContent = `latency ${ms.toFixed(0)} ms`; },
      onState: (state) => {
        stateBox.textContent = state === "connected" ? "" : state;
        if (state === "failed" || state === "disconnected") { entry.player.stop(); setTimeout(play, 3000); }
      },
    });
    // A feed that is not publishing yet is tried again every few seconds.
    entry.player.start().catch((error) => { latency.textContent = error.message; entry.player.stop(); setTimeout(play, 3000); });
  };
  const draw = () => { drawBoxes(canvas, video, detections[feed.vehicle_id]); requestAnimationFrame(draw); };
  requestAnimationFrame(draw);
  play();
  return entry;
}

async function refresh() {
  const feeds = await api("/api/feeds");
  for (const feed of feeds) {
    if (tiles.has(feed.vehicle_id)) continue;
    const entry = tile(feed);
    tiles.set(feed.vehicle_id, entry);
    wall.append(entry.node);
  }
  if (!feeds.length && !wall.children.length) wall.append(el("p", { class: "note", id: "no-feeds" }, "No drone has reported yet."));
  else document.getElementById("no-feeds")?.remove();
}

connectLive((batch) => {
  if (batch.detections) Object.assign(detections, batch.detections);
  showAlerts(batch.alerts);
  if (batch.vehicles && Object.keys(batch.vehicles).some((vid) => !tiles.has(vid))) refresh();
}, { detections: true });
refresh();
