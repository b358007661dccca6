// The command map: bases, no-fly zones, drones, footprints, tracks, coverage, incidents, missions.
import { api, el, frame, showAlerts, toast } from "./api.js";
import { connectLive } from "./live.js";
import { DroneLayer, SkyCanvas, darkMap, drawZones, fleetRows } from "./mapdraw.js";
import { WhepPlayer, drawBoxes } from "./whep.js";

frame("map");
const config = await api("/api/config");
const map = darkMap("map", config);
drawZones(map, await api("/api/zones"));
const sky = new SkyCanvas().addTo(map);

const vehicles = {}, incidents = {}, missions = {}, detections = {}, footprints = new Map();
const incidentMarkers = new Map(), missionLines = new Map();
let selected = null, player = null, tableDirty = true;
const drones = new DroneLayer(map, { lowBatteryPct: config.low_battery_pct, onClick: (vid) => openFeed(vid) });
const stats = { batches: 0, frames: 0, fps: 0, drones: 0, tracks: 0, lastBatchAt: 0 };
window.__skyeye = { map, stats, vehicles, incidents, missions };

function incidentPopup(inc) {
  const body = el("div", {},
    el("b", {}, `${inc.category} · P${inc.priority}`), el("br"),
    `${inc.status}${inc.assigned_vehicle_id ? ` → ${inc.assigned_vehicle_id}` : ""}`, el("br"),
    el("span", { class: "note" }, inc.summary), el("br"));
  if (inc.status === "open") {
    body.append(el("button", { class: "primary", onclick: () => dispatch(inc.incident_id) }, "Dispatch"));
  }
  return body;
}

async function dispatch(incidentId) {
  try {
    const outcome = await api(`/api/incidents/${incidentId}/dispatch`, { method: "POST" });
    toast(outcome.dispatch.vehicle_id ? `${outcome.dispatch.vehicle_id} dispatched` : outcome.dispatch.reasons.join("; "), !outcome.dispatch.vehicle_id);
  } catch (error) { toast(error.message); }
}

function showIncident(inc) {
  let marker = incidentMarkers.get(inc.incident_id);
  const icon = L.divIcon({ className: "", html: `<div class="incident-icon ${inc.status}" data-incident="${inc.incident_id}"></div>`, iconSize: [22, 22], iconAnchor: [11, 11] });
  if (!marker) {
    marker = L.marker([inc.lat_deg, inc.lon_deg], { icon, zIndexOffset: 500 }).addTo(map);
    incidentMarkers.set(inc.incident_id, marker);
  }
  marker.setIcon(icon);
  marker.bindPopup(() => incidentPopup(incidents[inc.incident_id]));
}

function showMissionLines() {
  for (const m of Object.values(missions)) {
    const active = !["completed", "aborted", "failed", "landed"].includes(m.state);
    const v = vehicles[m.vehicle_id], inc = incidents[m.incident_id];
    let line = missionLines.get(m.mission_id);
    if (!active || !v || v.lat_deg === null) { line?.remove(); missionLines.delete(m.mission_id); continue; }
    const target = inc ? [[inc.lat_deg, inc.lon_deg]] : (m._path || []);
    if (!target.length) continue;
    const points = [[v.lat_deg, v.lon_deg], ...target];
    if (!line) {
      line = L.polyline(points, { color: "#ffb020", weight: 2, dashArray: "8 6", interactive: false }).addTo(map);
      missionLines.set(m.mission_id, line);
    } else line.setLatLngs(points);
  }
}

const footprintAt = {}; // vehicle → when the detector last gave its projected footprint

function drawFootprint(vid, points, estimated) {
  const style = { color: "#37d67a", weight: 1, fillOpacity: 0.08, dashArray: estimated ? "4 4" : null, interactive: false };
  let poly = footprints.get(vid);
  if (!poly) { poly = L.polygon(points, style).addTo(map); footprints.set(vid, poly); }
  else { poly.setLatLngs(points); poly.setStyle(style); }
}

function showFootprint(batch) {
  if (!batch.footprint.length) return;
  footprintAt[batch.vehicle_id] = performance.now();
  drawFootprint(batch.vehicle_id, batch.footprint.map((p) => [p.lat_deg, p.lon_deg]), false);
}

// Without a detector, the footprint is estimated from altitude, heading and gimbal angles with
// a typical 70°×45° camera (dashed); the detector's projected footprint (solid) replaces it.
function estimateFootprint(s) {
  if ((footprintAt[s.vehicle_id] || -1e9) > performance.now() - 3000) return;
  const h = s.alt_rel_m, pitch = s.gimbal_pitch_deg;
  if (h === null || h < 5 || pitch === null || pitch > -10 || s.lat_deg === null) { footprints.get(s.vehicle_id)?.remove(); footprints.delete(s.vehicle_id); return; }
  const rad = Math.PI / 180, depression = -pitch, hfov = 70, vfov = 45;
  const corner = (delta, side) => {
    const d = h / Math.tan(delta * rad), w = (h / Math.sin(delta * rad)) * Math.tan((hfov / 2) * rad) * side;
    const yaw = ((s.heading_deg ?? s.yaw_deg) + (s.gimbal_yaw_deg ?? 0)) * rad;
    const north = d * Math.cos(yaw) - w * Math.sin(yaw), east = d * Math.sin(yaw) + w * Math.cos(yaw);
    return [s.lat_deg + north / 111195, s.lon_deg + east / (111195 * Math.cos(s.lat_deg * rad))];
  };
  const near = Math.min(179, depression + vfov / 2), far = Math.max(3, depression - vfov / 2);
  drawFootprint(s.vehicle_id, [corner(near, -1), corner(near, 1), corner(far, 1), corner(far, -1)], true);
}

async function fetchPath(m) {
  if (m.incident_id || m._asked) return;
  m._asked = true;
  try { m._path = (await api(`/api/missions/${m.mission_id}/path`)).map(([lat, lon]) => [lat, lon]); } catch { m._path = []; }
}

connectLive((batch) => {
  stats.batches += 1; stats.lastBatchAt = performance.now();
  if (batch.vehicles) {
    Object.assign(vehicles, batch.vehicles); drones.update(batch.vehicles); tableDirty = true;
    for (const s of Object.values(batch.vehicles)) if (s) estimateFootprint(s);
  }
  if (batch.tracks) { const list = batch.tracks.all?.tracks || []; sky.setTracks(list); stats.tracks = list.length; }
  if (batch.coverage) sky.setCoverage(batch.coverage.all);
  if (batch.incidents) for (const inc of Object.values(batch.incidents)) { incidents[inc.incident_id] = inc; showIncident(inc); tableDirty = true; }
  if (batch.missions) for (const m of Object.values(batch.missions)) { missions[m.mission_id] = { ...missions[m.mission_id], ...m }; fetchPath(missions[m.mission_id]); tableDirty = true; }
  if (batch.detections) for (const d of Object.values(batch.detections)) { detections[d.vehicle_id] = d; showFootprint(d); }
  showAlerts(batch.alerts);
  showMissionLines();
  stats.drones = drones.markers.size;
}, { detections: true });

// Tables at 4 Hz: 50 drones re-rendered per frame would cost the map its frame rate.
setInterval(() => {
  if (!tableDirty) return;
  tableDirty = false;
  fleetRows(document.querySelector("#fleet tbody"), vehicles, config.low_battery_pct, selected, openFeed);
  document.querySelector("#incidents tbody").replaceChildren(...Object.values(incidents).slice(-30).reverse().map((inc) =>
    el("tr", { onclick: () => { map.panTo([inc.lat_deg, inc.lon_deg]); incidentMarkers.get(inc.incident_id)?.openPopup(); } },
      el("td", {}, inc.category), el("td", {}, inc.priority),
      el("td", {}, el("span", { class: `pill ${inc.status === "open" ? "bad" : "warn"}` }, inc.status)), el("td", {}, inc.assigned_vehicle_id || "–"))));
  document.querySelector("#missions tbody").replaceChildren(...Object.values(missions).slice(-30).reverse().map((m) =>
    el("tr", { "data-mission": m.mission_id }, el("td", {}, m.mission_type), el("td", {}, m.vehicle_id || "–"), el("td", {}, el("span", { class: "pill" }, m.state)))));
}, 250);

// Click on the map: raise an incident here (commanders; others are told why not).
map.on("click", (event) => {
  const { lat, lng } = event.latlng;
  const form = el("form", { id: "raise" },
    el("b", {}, "Raise an incident"),
    el("label", {}, "Category"),
    el("select", { name: "category" }, ["burglary", "traffic accident", "missing person", "fire", "suspicious vehicle", "public disorder"].map((c) => el("option", {}, c))),
    el("label", {}, "Priority"),
    el("select", { name: "priority" }, [["4", "critical"], ["3", "high"], ["2", "normal"], ["1", "low"]].map(([v, t]) => el("option", { value: v }, t))),
    el("label", {}, "Summary"), el("input", { name: "summary", maxlength: 500 }),
    el("label", {}, el("input", { type: "checkbox", name: "dispatch", checked: "checked", style: "width:auto" }), " dispatch the best drone"),
    el("div", { class: "toolbar" }, el("button", { class: "danger", type: "submit" }, "Raise")));
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    try {
      const outcome = await api("/api/incidents", { method: "POST", body: {
        lat_deg: lat, lon_deg: lng, category: form.category.value, priority: Number(form.priority.value),
        summary: form.summary.value, dispatch: form.dispatch.checked } });
      incidents[outcome.incident.incident_id] = outcome.incident;
      showIncident(outcome.incident);
      map.closePopup();
      const d = outcome.dispatch;
      toast(d ? (d.vehicle_id ? `Incident raised: ${d.vehicle_id} dispatched, ETA ${Math.round(d.eta_s)} s` : `Raised; nobody can go: ${d.reasons.join("; ")}`) : "Incident raised", !!d && !d.vehicle_id);
    } catch (error) { toast(error.message); }
  });
  L.popup().setLatLng(event.latlng).setContent(form).openOn(map);
});

async function openFeed(vid) {
  selected = vid; tableDirty = true;
  const box = document.getElementById("feed");
  await player?.stop(); player = null;
  const feed = (await api("/api/feeds")).find((f) => f.vehicle_id === vid);
  const video = el("video", { autoplay: "", muted: "", playsinline: "", id: "feed-video" });
  video.muted = true;
  const canvas = el("canvas"), latency = el("span", {}, "connecting…");
  box.replaceChildren(el("div", { class: "feed-panel" }, video, canvas, el("div", { class: "caption" }, el("span", {}, vid), latency)));
  if (!feed) { latency.textContent = "no feed"; return; }
  player = new WhepPlayer(video, feed, { onLatency: (ms) => { latency.textContent = `${ms.toFixed(0)} ms`; } });
  const tick = () => { if (selected === vid) { drawBoxes(canvas, video, detections[vid]); requestAnimationFrame(tick); } };
  requestAnimationFrame(tick);
  try { await player.start(); } catch (error) { latency.textContent = error.message; }
}

// Frame rate, for the operator and for the bench.
let count = 0, since = performance.now();
const fpsBox = document.getElementById("fps");
(function count_frames(now) {
  count += 1; stats.frames += 1;
  if (now - since >= 1000) { stats.fps = (count * 1000) / (now - since); fpsBox.textContent = `${stats.fps.toFixed(0)} fps · ${stats.drones} drones · ${stats.tracks} tracks`; count = 0; since = now; }
  requestAnimationFrame(count_frames);
})(performance.now());
