// A WHEP player: RTCPeerConnection, POST the SDP offer with the Bearer token, play the answer.
// Frame metadata (capture time) arrives on the "metadata" data channel: latency = now − capture.
export class WhepPlayer {
  constructor(video, feed, { onLatency, onState } = {}) {
    this.video = video; this.feed = feed; this.onLatency = onLatency; this.onState = onState;
    this.pc = null; this.location = null;
  }

  async start() {
    const pc = new RTCPeerConnection();
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    const channel = pc.createDataChannel("metadata");
    channel.onmessage = (event) => {
      const meta = JSON.parse(event.data);
      if (meta.capture_time && this.onLatency) this.onLatency(Date.now() - Date.parse(meta.capture_time));
    };
    pc.ontrack = (event) => { this.video.srcObject = event.streams[0] || new MediaStream([event.track]); };
    pc.onconnectionstatechange = () => this.onState && this.onState(pc.connectionState);
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
      setTimeout(resolve, 2000);
    });
    const headers = { "Content-Type": "application/sdp" };
    if (this.feed.token) headers.Authorization = `Bearer ${this.feed.token}`;
    const response = await fetch(this.feed.whep_url, { method: "POST", headers, body: pc.localDescription.sdp });
    if (!response.ok) throw new Error(`${this.feed.vehicle_id}: ${response.status} ${(await response.text()).trim()}`);
    this.location = new URL(response.headers.get("Location"), new URL(this.feed.whep_url, location.href)).href;
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  }

  async stop() {
    if (this.location) {
      const headers = this.feed.token ? { Authorization: `Bearer ${this.feed.token}` } : {};
      fetch(this.location, { method: "DELETE", headers }).catch(() => {});
    }
    this.pc?.close();
    this.pc = null;
  }
}

// Detection boxes over a video element, scaled from the detector's image to the shown size.
export function drawBoxes(canvas, video, batch) {
  const w = video.clientWidth, h = video.clientHeight;
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  if (!batch || !video.videoWidth) return;
  // The picture is letterboxed inside the element (object-fit: contain): find where it lies.
  const scale = Math.min(w / video.videoWidth, h / video.videoHeight);
  const ox = (w - video.videoWidth * scale) / 2, oy = (h - video.videoHeight * scale) / 2;
  ctx.translate(ox, oy);
  const sx = (video.videoWidth * scale) / batch.image_width_px, sy = (video.videoHeight * scale) / batch.image_height_px;
  ctx.lineWidth = 2; ctx.font = "12px monospace";
  for (const d of batch.detections) {
    const color = d.class_name === "person" ? "#ffb020" : "#2fa8ff";
    ctx.strokeStyle = color; ctx.fillStyle = color;
    ctx.strokeRect(d.x_min_px * sx, d.y_min_px * sy, (d.x_max_px - d.x_min_px) * sx, (d.y_max_px - d.y_min_px) * sy);
    ctx.fillText(`${d.class_name} ${(d.confidence * 100).toFixed(0)}%`, d.x_min_px * sx + 2, d.y_min_px * sy - 3);
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
}
