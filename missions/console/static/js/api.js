// Talking to the console API: the token, fetch with Bearer, the page header, alerts.
const TOKEN_KEY = "skyeye.token";

export function session() {
  const raw = sessionStorage.getItem(TOKEN_KEY);
  return raw ? JSON.parse(raw) : null;
}

export function saveSession(token) { sessionStorage.setItem(TOKEN_KEY, JSON.stringify(token)); }

export function logOut() { sessionStorage.removeItem(TOKEN_KEY); location.href = "/login"; }

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

function describe(detail) {
  if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  return String(detail);
}

export async function api(path, { method = "GET", body } = {}) {
  const s = session();
  const headers = { Accept: "application/json" };
  if (s) headers.Authorization = `Bearer ${s.access_token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) { logOut(); throw new ApiError(401, "log in again"); }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) throw new ApiError(response.status, describe(data.detail));
  return data;
}

export function can(permission) {
  const role = session()?.role;
  return { view: true, incidents: role === "commander", flight: role === "pilot", admin: role === "admin" }[permission];
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const PAGES = [["map", "Command map"], ["wall", "Video wall"], ["missions", "Mission console"], ["admin", "Admin"]];

export function frame(active) {
  const s = session();
  if (!s) { location.href = "/login"; throw new Error("not logged in"); }
  const header = document.querySelector("header.top");
  header.append(
    el("span", { class: "brand" }, "SKYEYE"),
    el("nav", {}, PAGES.map(([page, label]) => el("a", { href: `/${page}`, class: page === active ? "active" : "" }, label))),
    el("span", { class: "who" }, el("span", { class: "conn", id: "conn", title: "live link" }), " ",
      el("b", { id: "who-name" }, s.username), ` · ${s.role} `),
    el("button", { onclick: logOut, id: "logout" }, "Log out"),
  );
  return s;
}

export function setConnected(up) { document.getElementById("conn")?.classList.toggle("up", up); }

// Alerts: one banner per active alert, on every page, until acknowledged or cleared.
const activeAlerts = new Map();

export function showAlerts(changes) {
  const box = document.getElementById("alerts");
  if (!box || !changes) return;
  for (const [id, alert] of Object.entries(changes)) {
    activeAlerts.get(id)?.remove();
    activeAlerts.delete(id);
    if (!alert) continue;
    const banner = el("div", { class: `alert ${alert.kind}`, role: "alert", "data-alert": id },
      el("span", { class: "kind" }, alert.kind.replace("_", " ")),
      el("span", {}, alert.text),
      el("span", { class: "note" }, new Date(alert.time).toLocaleTimeString()),
      el("button", { onclick: async () => { await api(`/api/alerts/${encodeURIComponent(id)}/ack`, { method: "POST" }); } }, "Acknowledge"));
    activeAlerts.set(id, banner);
    box.prepend(banner);
  }
}

export function toast(message, bad = true) {
  const box = document.getElementById("toast") || document.body.appendChild(el("div", { id: "toast" }));
  box.textContent = message;
  box.style.cssText = `position:fixed;z-index:2000;bottom:20px;left:50%;transform:translateX(-50%);padding:10px 16px;border-radius:6px;font-weight:700;background:${bad ? "#7a0f12" : "#0f5132"};color:#fff`;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => box.remove(), 5000);
}
