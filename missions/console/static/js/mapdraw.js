// Shared map pieces: drone markers, zones, and one canvas for the coverage layer and 2,000+ tracks.
import { el } from "./api.js";

const CLASS_COLORS = { car: "#2fa8ff", truck: "#2fa8ff", vehicle: "#2fa8ff", bus: "#2fa8ff", boat: "#4dd0e1", person: "#ffb020" };
export const classColor = (name) => CLASS_COLORS[name] || "#c77dff";

export function darkMap(id, config) {
  const map = L.map(id, { zoomControl: true, attributionControl: false }).setView([47.38, 8.54], 11);
  if (config.tile_url) L.tileLayer(config.tile_url, { maxZoom: 19, className: "basemap" }).addTo(map);
  else {
    // No basemap configured: a faint grid keeps scale and motion visible.
    const grid = L.gridLayer({ tileSize: 128 });
    grid.createTile = () => L.DomUtil.create("div", "grid-tile");
    grid.addTo(map);
  }
  L.control.scale({ imperial: false }).addTo(map);
  return map;
}

export function drawZones(map, zones) {
  const layer = L.layerGroup().addTo(map);
  const bounds = [];
  for (const { zone } of zones) {
    if (zone.kind === "base") {
      L.circle([zone.lat_deg, zone.lon_deg], { radius: zone.radius_m, color: "#2fa8ff", weight: 1.5, dashArray: "6 6", fill: false, interactive: false }).addTo(layer);
      L.circleMarker([zone.lat_deg, zone.lon_deg], { radius: 7, color: "#2fa8ff", fillColor: "#0b0f14", fillOpacity: 1 })
        .bindTooltip(`Base ${zone.name} · ${(zone.radius_m / 1000).toFixed(0)} km`).addTo(layer);
      bounds.push([zone.lat_deg, zone.lon_deg]);
    } else {
      L.polygon(zone.polygon, { color: "#ff4d4f", weight: 1.5, fillColor: "#ff4d4f", fillOpacity: 0.18 })
        .bindTooltip(`No-fly: ${zone.name}`).addTo(layer);
    }
  }
  if (bounds.length) { map.fitBounds(L.latLngBounds(bounds).pad(0.5), { maxZoom: 12 }); map._skyeyeFitted = true; }
  return layer;
}

const ARROW = '<svg width="24" height="24" viewBox="-12 -12 24 24"><path d="M0,-11 L8,9 L0,4 L-8,9 Z" fill="#37d67a" stroke="#000" stroke-width="1.2"/></svg>';

export class DroneLayer {
  constructor(map, { lowBatteryPct, onClick }) {
    this.map = map; this.low = lowBatteryPct; this.onClick = onClick; this.markers = new Map();
  }

  update(states) {
    this._fitOnce(states);
    for (const [vid, s] of Object.entries(states)) {
      let marker = this.markers.get(vid);
      if (!s || s.lat_deg === null) { if (marker && !s) { marker.remove(); this.markers.delete(vid); } continue; }
      if (!marker) {
        const icon = L.divIcon({ className: "", html: `<div class="drone-icon" data-vehicle="${vid}">${ARROW}<span class="label"></span></div>`, iconSize: [34, 34], iconAnchor: [17, 17] });
        marker = L.marker([s.lat_deg, s.lon_deg], { icon, zIndexOffset: 1000 }).addTo(this.map);
        marker.on("click", () => this.onClick && this.onClick(vid));
        this.markers.set(vid, marker);
      }
      marker.setLatLng([s.lat_deg, s.lon_deg]);
      const node = marker.getElement()?.firstElementChild;
      if (!node) continue;
      node.querySelector("svg").style.transform = `rotate(${s.heading_deg ?? s.yaw_deg ?? 0}deg)`;
      const battery = s.battery_pct === null ? "–" : `${s.battery_pct.toFixed(0)}%`;
      node.querySelector(".label").textContent = `${vid} · ${s.mode} · ${battery}${s.link.connected ? "" : " · LINK LOST"}`;
      node.classList.toggle("lost", !s.link.connected);
      node.classList.toggle("low", s.battery_pct !== null && s.battery_pct <= this.low);
    }
  }
}

// With no base configured, the first drones seen frame the view.
DroneLayer.prototype._fitOnce = function (states) {
  if (this.map._skyeyeFitted) return;
  const points = Object.values(states).filter((s) => s && s.lat_deg !== null).map((s) => [s.lat_deg, s.lon_deg]);
  if (!points.length) return;
  this.map._skyeyeFitted = true;
  this.map.fitBounds(L.latLngBounds(points).pad(0.6), { maxZoom: 15, animate: false });
};

// One canvas in the overlay pane, redrawn whenever the data or the view changes (at most once a frame).
export const SkyCanvas = L.Layer.extend({
  initialize() { this.tracks = []; this.coverage = null; this._queued = false; },
  onAdd(map) {
    this._canvas = L.DomUtil.create("canvas", "leaflet-layer sky-canvas");
    this._canvas.style.pointerEvents = "none";
    map.getPane("overlayPane").appendChild(this._canvas);
    map.on("move resize zoomend viewreset", this.redraw, this);
    map.on("zoomstart", this._hide, this);
    this.redraw();
  },
  onRemove(map) {
    this._canvas.remove();
    map.off("move resize zoomend viewreset", this.redraw, this);
    map.off("zoomstart", this._hide, this);
  },
  setTracks(tracks) { this.tracks = tracks; this.redraw(); },
  setCoverage(coverage) { this.coverage = coverage; this.redraw(); },
  _hide() { this._canvas.style.visibility = "hidden"; },
  redraw() {
    if (this._queued || !this._map) return;
    this._queued = true;
    requestAnimationFrame(() => { this._queued = false; this._draw(); });
  },
  _draw() {
    const map = this._map, canvas = this._canvas, size = map.getSize();
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== size.x * ratio || canvas.height !== size.y * ratio) {
      canvas.width = size.x * ratio; canvas.height = size.y * ratio;
      canvas.style.width = `${size.x}px`; canvas.style.height = `${size.y}px`;
    }
    L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
    canvas.style.visibility = "visible";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, size.x, size.y);
    const bounds = map.getBounds().pad(0.1);
    this._drawCoverage(ctx, map, bounds);
    this._drawTracks(ctx, map, bounds);
  },
  _drawCoverage(ctx, map, bounds) {
    const layer = this.coverage;
    if (!layer) return;
    const now = Date.parse(layer.time);
    const metresPerPx = 40075016.686 * Math.cos((map.getCenter().lat * Math.PI) / 180) / 2 ** (map.getZoom() + 8);
    const side = Math.max(1, layer.cell_size_m / metresPerPx);
    for (const cell of layer.cells) {
      if (!bounds.contains([cell.lat_deg, cell.lon_deg])) continue;
      const ageMin = cell.last_imaged ? (now - Date.parse(cell.last_imaged)) / 60000 : Infinity;
      const fresh = Math.max(0, 1 - ageMin / 30);
      ctx.fillStyle = fresh > 0 ? `rgba(31,150,80,${0.12 + 0.3 * fresh})` : "rgba(160,30,30,0.22)";
      const p = map.latLngToContainerPoint([cell.lat_deg, cell.lon_deg]);
      ctx.fillRect(p.x - side / 2, p.y - side / 2, side, side);
    }
  },
  _drawTracks(ctx, map, bounds) {
    const labels = map.getZoom() >= 15;
    ctx.lineWidth = 1.5;
    ctx.font = "11px monospace";
    for (const t of this.tracks) {
      if (!bounds.contains([t.lat_deg, t.lon_deg])) continue;
      const color = classColor(t.class_name);
      const p = map.latLngToContainerPoint([t.lat_deg, t.lon_deg]);
      if (t.trail.length) {
        ctx.strokeStyle = color; ctx.globalAlpha = 0.45; ctx.beginPath();
        ctx.moveTo(p.x, p.y);
        for (const q of t.trail) { const r = map.latLngToContainerPoint([q.lat_deg, q.lon_deg]); ctx.lineTo(r.x, r.y); }
        ctx.stroke(); ctx.globalAlpha = 1;
      }
      ctx.fillStyle = color; ctx.beginPath(); ctx.arc(p.x, p.y, 4, 0, 2 * Math.PI); ctx.fill();
      if (labels) ctx.fillText(`${t.class_name} ${t.track_id}`, p.x + 6, p.y - 6);
    }
  },
});

export function fleetRows(tbody, vehicles, lowPct, selected, onClick) {
  tbody.replaceChildren(...Object.values(vehicles).sort((a, b) => a.vehicle_id.localeCompare(b.vehicle_id)).map((s) => {
    const pct = s.battery_pct ?? 0;
    const bar = el("span", { class: "bar" }, el("i", { style: `width:${pct}%;background:${pct <= lowPct ? "#ff4d4f" : "#37d67a"}` }));
    return el("tr", { class: s.vehicle_id === selected ? "sel" : "", "data-vehicle": s.vehicle_id, onclick: () => onClick(s.vehicle_id) },
      el("td", {}, s.vehicle_id),
      el("td", {}, el("span", { class: `pill ${s.mode === "RTL" || s.mode === "LAND" ? "warn" : "ok"}` }, s.mode)),
      el("td", {}, bar, ` ${s.battery_pct === null ? "–" : pct.toFixed(0) + "%"}`),
      el("td", {}, el("span", { class: `pill ${s.link.connected ? "ok" : "bad"}` }, s.link.connected ? "up" : "LOST")));
  }));
}
