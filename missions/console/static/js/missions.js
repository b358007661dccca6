// The pilot's mission console: draw, pick a planner, preview, approve, launch, abort, RTL, land.
import { api, el, frame, showAlerts, toast } from "./api.js";
import { connectLive } from "./live.js";
import { DroneLayer, darkMap, drawZones, fleetRows } from "./mapdraw.js";

frame("missions");
const config = await api("/api/config");
const map = darkMap("map", config);
drawZones(map, await api("/api/zones"));
const vehicles = {}, missions = {};
const drones = new DroneLayer(map, { lowBatteryPct: config.low_battery_pct, onClick: (vid) => { vehicleSelect.value = vid; } });
const vehicleSelect = document.getElementById("vehicle"), plannerSelect = document.getElementById("planner");
const errorBox = document.getElementById("error"), result = document.getElementById("preview-result");
let mode = null, points = [], sketch = null, previewLayer = null, preview = null, dirty = true;
window.__skyeye = { map, missions, vehicles };

plannerSelect.replaceChildren(...config.planners.map((p) => el("option", {}, p)));
if (!config.planners.length) plannerSelect.append(el("option", { value: "" }, "no planner connected"));

function redrawSketch() {
  sketch?.remove();
  if (!points.length) return;
  sketch = (mode === "area" ? L.polygon(points, { color: "#2fa8ff", dashArray: "4 4" }) : L.polyline(points, { color: "#2fa8ff", dashArray: "4 4" })).addTo(map);
}

function startDrawing(kind) {
  mode = kind; points = []; redrawSketch(); previewLayer?.remove(); preview = null;
  document.getElementById("create").disabled = true;
  document.getElementById("draw-hint").textContent = `Drawing a${kind === "area" ? "n area" : " route"}: click the map to add points.`;
}
document.getElementById("draw-area").onclick = () => startDrawing("area");
document.getElementById("draw-route").onclick = () => startDrawing("route");
document.getElementById("clear").onclick = () => startDrawing(mode);
map.on("click", (event) => { if (!mode) return; points.push([event.latlng.lat, event.latlng.lng]); redrawSketch(); });

document.getElementById("preview").onclick = async () => {
  errorBox.textContent = "";
  try {
    preview = await api("/api/plans/preview", { method: "POST", body: {
      planner: plannerSelect.value, vehicle_id: vehicleSelect.value, geometry_type: mode || "route",
      points, alt_rel_m: Number(document.getElementById("alt").value) } });
  } catch (error) { errorBox.textContent = error.message; return; }
  previewLayer?.remove();
  previewLayer = L.polyline(preview.path, { color: preview.feasible ? "#37d67a" : "#ff4d4f", weight: 3 }).addTo(map);
  result.replaceChildren(
    el("span", { class: `pill ${preview.feasible ? "ok" : "bad"}`, id: "feasibility" }, preview.feasible ? "feasible" : "not feasible"),
    ` ${(preview.distance_m / 1000).toFixed(2)} km · ${(preview.duration_s / 60).toFixed(1)} min`,
    ...preview.reasons.map((r) => el("div", { class: "error" }, r)));
  document.getElementById("create").disabled = !preview.feasible;
};

document.getElementById("create").onclick = async () => {
  errorBox.textContent = "";
  try {
    const mission = await api("/api/missions", { method: "POST", body: { preview_id: preview.preview_id } });
    missions[mission.mission_id] = mission; dirty = true;
    toast(`Mission ${mission.mission_id} created (${mission.state})`, false);
    document.getElementById("create").disabled = true;
  } catch (error) { errorBox.textContent = error.message; }
};

const dialog = document.getElementById("confirm");
function confirmAction(title, text) {
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

async function command(mission, action) {
  errorBox.textContent = "";
  const needsConfirm = action !== "approve";
  if (needsConfirm && !(await confirmAction(`${action.toUpperCase()} ${mission.vehicle_id}?`, `Mission ${mission.mission_id} is ${mission.state}. ${action.toUpperCase()} now?`))) return;
  try {
    const status = await api(`/api/missions/${mission.mission_id}/${action}`, { method: "POST", body: { confirm: needsConfirm } });
    missions[status.mission_id] = status; dirty = true;
    toast(`${action} → ${status.state}`, false);
  } catch (error) { errorBox.textContent = error.message; toast(error.message); }
}

const ACTIONS = { planned: ["approve", "abort"], approved: ["launch", "abort"], uploading: ["abort"], launching: ["abort"],
  en_route: ["abort", "rtl", "land"], on_station: ["abort", "rtl", "land"], returning: ["land"] };

function renderMissions() {
  document.querySelector("#missions tbody").replaceChildren(...Object.values(missions).reverse().map((m) =>
    el("tr", { "data-mission": m.mission_id },
      el("td", {}, m.mission_id, el("br"), el("span", { class: "note" }, m.mission_type)),
      el("td", {}, m.vehicle_id || "–"),
      el("td", {}, el("span", { class: "pill", "data-state": m.state }, m.state)),
      el("td", {}, (ACTIONS[m.state] || []).map((a) => el("button", {
        class: a === "abort" ? "danger" : a === "approve" || a === "launch" ? "primary" : "warn",
        "data-action": a, onclick: () => command(m, a) }, a.toUpperCase()))))));
}

async function loadMissions() { for (const m of await api("/api/missions")) missions[m.mission_id] = m; dirty = true; }

connectLive((batch) => {
  if (batch.vehicles) {
    Object.assign(vehicles, batch.vehicles); drones.update(batch.vehicles);
    const current = vehicleSelect.value;
    vehicleSelect.replaceChildren(...Object.keys(vehicles).sort().map((vid) => el("option", {}, vid)));
    if (current && vehicles[current]) vehicleSelect.value = current;
    dirty = true;
  }
  if (batch.missions) { for (const m of Object.values(batch.missions)) missions[m.mission_id] = m; dirty = true; }
  showAlerts(batch.alerts);
});
await loadMissions();
setInterval(() => {
  if (!dirty) return;
  dirty = false;
  renderMissions();
  fleetRows(document.querySelector("#fleet tbody"), vehicles, config.low_battery_pct, vehicleSelect.value, (vid) => { vehicleSelect.value = vid; });
}, 250);
