// Administration: users, bases and no-fly zones, the audit log.
import { api, el, frame, showAlerts } from "./api.js";
import { connectLive } from "./live.js";

const me = frame("admin");
const errorBox = document.getElementById("error");
const fail = (error) => { errorBox.textContent = error.message; };

async function loadUsers() {
  const users = await api("/api/users");
  document.querySelector("#users tbody").replaceChildren(...users.map((u) => el("tr", { "data-user": u.username },
    el("td", {}, u.username), el("td", {}, u.role), el("td", {}, u.disabled ? "disabled" : "active"),
    el("td", {}, u.username === me.username ? "" : el("button", { class: "danger", onclick: () => removeUser(u.username) }, "Remove")))));
}

async function removeUser(username) {
  if (!confirm(`Remove ${username}?`)) return;
  try { await api(`/api/users/${username}`, { method: "DELETE" }); await refresh(); } catch (error) { fail(error); }
}

async function loadZones() {
  const zones = await api("/api/zones");
  document.querySelector("#zones tbody").replaceChildren(...zones.map(({ zone_id, zone }) => el("tr", { "data-zone": zone_id },
    el("td", {}, zone.name), el("td", {}, { base: "base", no_fly: "no-fly", ceiling: `ceiling ${zone.ceiling_agl_m} m` }[zone.kind]),
    el("td", {}, zone.kind === "base" ? `${zone.lat_deg.toFixed(4)}, ${zone.lon_deg.toFixed(4)} · ${(zone.radius_m / 1000).toFixed(0)} km` : `${zone.polygon.length} vertices`),
    el("td", {}, el("button", { class: "danger", onclick: async () => { try { await api(`/api/zones/${zone_id}`, { method: "DELETE" }); await refresh(); } catch (error) { fail(error); } } }, "Remove")))));
}

async function loadAudit() {
  const entries = await api("/api/audit?limit=200");
  document.querySelector("#audit tbody").replaceChildren(...entries.reverse().map((e) => el("tr", {},
    el("td", {}, new Date(e.at).toLocaleString()), el("td", {}, e.actor), el("td", {}, e.action), el("td", {}, e.target),
    el("td", {}, el("span", { class: `pill ${e.result === "ok" ? "ok" : "bad"}` }, e.result)), el("td", {}, e.detail))));
}

async function refresh() { errorBox.textContent = ""; try { await Promise.all([loadUsers(), loadZones(), loadAudit()]); } catch (error) { fail(error); } }

document.getElementById("add-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target;
  try { await api("/api/users", { method: "POST", body: { username: f.username.value, password: f.password.value, role: f.role.value } }); f.reset(); await refresh(); } catch (error) { fail(error); }
});
document.getElementById("add-base").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target;
  try { await api("/api/zones", { method: "POST", body: { kind: "base", name: f.name.value, lat_deg: Number(f.lat.value), lon_deg: Number(f.lon.value), radius_m: Number(f.radius.value) } }); f.reset(); await refresh(); } catch (error) { fail(error); }
});
document.getElementById("add-nofly").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target;
  const polygon = f.polygon.value.split(";").map((pair) => pair.split(",").map(Number));
  try { await api("/api/zones", { method: "POST", body: { kind: "no_fly", name: f.name.value, polygon } }); f.reset(); await refresh(); } catch (error) { fail(error); }
});

connectLive((batch) => showAlerts(batch.alerts));
refresh();
