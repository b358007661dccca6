// The live WebSocket: the whole picture first, then coalesced changes; reconnects by itself.
import { api, session, setConnected } from "./api.js";

export function connectLive(onBatch, { detections = false } = {}) {
  let socket;
  let delay = 250;
  const open = () => {
    const s = session();
    if (!s) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = `token=${encodeURIComponent(s.access_token)}${detections ? "&detections=1" : ""}`;
    socket = new WebSocket(`${scheme}://${location.host}/ws?${query}`);
    socket.onopen = () => { delay = 250; setConnected(true); };
    socket.onmessage = (event) => onBatch(JSON.parse(event.data), performance.now());
    socket.onclose = (event) => {
      setConnected(false);
      api("/api/auth/me").catch(() => {}); // an expired token sends the user to the log-in page
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 5000);
    };
  };
  open();
  return () => socket && socket.close();
}
