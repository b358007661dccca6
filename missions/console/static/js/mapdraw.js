// Shared map pieces: drone markers, zones, and one canvas for the coverage layer and 2,000+ tracks.
import { el } from "./api.js";

const CLASS_COLORS = { car: "#2fa8ff", truck: "#2fa8ff", vehicle: "#2fa8ff", bus: "#2fa8ff", boat: "#4dd0e1", person: "#ffb020" };
export const classColor = (name) => CLASS_COLORS[name] || "#c77dff";

export function darkMap(id, config) {
  const map = L.map(id, { zoomControl: true, attributionControl: false }).setView([47.38, 8.54], 11);
  if (config.tile_url) L.tileLayer(config.tile_url, { maxZoom: 19, className: "basemap" }).addTo(map);
  else {
    // No basemap configured: a faint grid keeps scale and motion visible.
    const grid = L.gridLayer({ tileSize: 512, keepBuffer: 4 });
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
    } else if (zone.kind === "ceiling") {
      L.polygon(zone.polygon, { color: "#ffb020", weight: 1.5, dashArray: "4 4", fillColor: "#ffb020", fillOpacity: 0.1 })
        .bindTooltip(`Ceiling ${zone.ceiling_agl_m} m: ${zone.name}`).addTo(layer);
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
// Points are projected once per zoom level and data change (absolute pixels); drawing is
// batched per colour (a handful of canvas paths for 2,000+ tracks). The canvas covers the
// view plus a margin and moves with the map, so panning redraws only when the view leaves
// the drawn area.
const COVERAGE_LEVELS = 6;
const MARGIN = 0.25;

export const SkyCanvas = L.Layer.extend({
  initialize() { this.tracks = []; this.coverage = null; this._queued = false; this._zoom = null; this._groups = null; this._cells = null; },
  onAdd(map) {
    this._canvas = L.DomUtil.create("canvas", "leaflet-layer sky-canvas");
    this._canvas.style.pointerEvents = "none";
    map.getPane("overlayPane").appendChild(this._canvas);
    map.on("move", this._moved, this);
    map.on("resize zoomend viewreset", this.redraw, this);
    map.on("zoomstart", this._hide, this);
    this.redraw();
  },
  _moved() {
    const drawn = this._drawn, view = this._map.getPixelBounds();
    if (!drawn || view.min.x < drawn.x0 || view.min.y < drawn.y0 || view.max.x > drawn.x1 || view.max.y > drawn.y1) this.redraw();
  },
  onRemove(map) {
    this._canvas.remove();
    map.off("move", this._moved, this);
    map.off("resize zoomend viewreset", this.redraw, this);
    map.off("zoomstart", this._hide, this);
  },
  setTracks(tracks) { this.tracks = tracks; this._groups = null; this.redraw(); },
  setCoverage(coverage) { this.coverage = coverage; this._cells = null; this.redraw(); },
  _hide() { this._canvas.style.visibility = "hidden"; },
  redraw() {
    if (this._queued || !this._map) return;
    this._queued = true;
    requestAnimationFrame(() => { this._queued = false; this._draw(); });
  },
  _project() {
    const map = this._map, zoom = map.getZoom();
    if (zoom !== this._zoom) { this._zoom = zoom; this._groups = null; this._cells = null; }
    if (!this._groups) {
      const groups = new Map();
      for (const t of this.tracks) {
        const color = classColor(t.class_name);
        let group = groups.get(color);
        if (!group) groups.set(color, (group = { dots: [], trails: [], labels: [] }));
        const p = map.project([t.lat_deg, t.lon_deg], zoom);
        group.dots.push(p.x, p.y);
        group.labels.push(`${t.class_name} ${t.track_id}`);
        const trail = new Float64Array(t.trail.length * 2);
        t.trail.forEach((q, i) => { const r = map.project([q.lat_deg, q.lon_deg], zoom); trail[2 * i] = r.x; trail[2 * i + 1] = r.y; });
        group.trails.push(trail);
      }
      this._groups = groups;
    }
    if (!this._cells && this.coverage) {
      const layer = this.coverage, now = Date.parse(layer.time);
      const levels = Array.from({ length: COVERAGE_LEVELS + 1 }, () => []);
      for (const cell of layer.cells) {
        const ageMin = cell.last_imaged ? (now - Date.parse(cell.last_imaged)) / 60000 : Infinity;
        const fresh = Math.max(0, 1 - ageMin / 30);
        const level = fresh > 0 ? 1 + Math.min(COVERAGE_LEVELS - 1, Math.floor(fresh * COVERAGE_LEVELS)) : 0;
        const p = map.project([cell.lat_deg, cell.lon_deg], zoom);
        levels[level].push(p.x, p.y);
      }
      const metresPerPx = 40075016.686 * Math.cos((map.getCenter().lat * Math.PI) / 180) / 2 ** (zoom + 8);
      this._cells = { levels, side: Math.max(1, layer.cell_size_m / metresPerPx) };
    }
  },
  _draw() {
    const map = this._map, canvas = this._canvas, view_size = map.getSize();
    const pad = view_size.multiplyBy(MARGIN).round(), size = view_size.add(pad.multiplyBy(2));
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== size.x * ratio || canvas.height !== size.y * ratio) {
      canvas.width = size.x * ratio; canvas.height = size.y * ratio;
      canvas.style.width = `${size.x}px`; canvas.style.height = `${size.y}px`;
    }
    L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint(pad.multiplyBy(-1)));
    canvas.style.visibility = "visible";
    this._project();
    const origin = map.getPixelBounds().min.subtract(pad);
    this._drawn = { x0: origin.x, y0: origin.y, x1: origin.x + size.x, y1: origin.y + size.y };
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, -origin.x * ratio, -origin.y * ratio);
    ctx.clearRect(origin.x, origin.y, size.x, size.y);
    const view = { x0: origin.x - 20, y0: origin.y - 20, x1: origin.x + size.x + 20, y1: origin.y + size.y + 20 };
    if (this._cells) this._drawCoverage(ctx, view);
    this._drawTracks(ctx, view);
  },
  _drawCoverage(ctx, view) {
    const { levels, side } = this._cells, half = side / 2;
    levels.forEach((xy, level) => {
      if (!xy.length) return;
      ctx.fillStyle = level === 0 ? "rgba(160,30,30,0.22)" : `rgba(31,150,80,${0.12 + (0.3 * level) / COVERAGE_LEVELS})`;
      ctx.beginPath();
      for (let i = 0; i < xy.length; i += 2) {
        const x = xy[i], y = xy[i + 1];
        if (x < view.x0 || x > view.x1 || y < view.y0 || y > view.y1) continue;
        ctx.rect(x - half, y - half, side, side);
      }
      ctx.fill();
    });
  },
  _drawTracks(ctx, view) {
    const labels = this._map.getZoom() >= 15;
    ctx.lineWidth = 1.5;
    ctx.font = "11px monospace";
    for (const [color, group] of this._groups) {
      const { dots, trails } = group;
      ctx.strokeStyle = color; ctx.fillStyle = color;
      ctx.globalAlpha = 0.45;
      ctx.beginPath();
      for (let k = 0; k < trails.length; k += 1) {
        const x = dots[2 * k], y = dots[2 * k + 1], trail = trails[k];
        if (x < view.x0 || x > view.x1 || y < view.y0 || y > view.y1 || !trail.length) continue;
        ctx.moveTo(x, y);
        for (let i = 0; i < trail.length; i += 2) ctx.lineTo(trail[i], trail[i + 1]);
      }
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.beginPath();
      for (let k = 0; k < dots.length; k += 2) {
        const x = dots[k], y = dots[k + 1];
        if (x < view.x0 || x > view.x1 || y < view.y0 || y > view.y1) continue;
        ctx.moveTo(x + 4, y);
        ctx.arc(x, y, 4, 0, 2 * Math.PI);
      }
      ctx.fill();
      if (labels) {
        for (let k = 0; k < dots.length; k += 2) {
          const x = dots[k], y = dots[k + 1];
          if (x < view.x0 || x > view.x1 || y < view.y0 || y > view.y1) continue;
          ctx.fillText(group.labels[k / 2], x + 6, y - 6);
        }
      }
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
