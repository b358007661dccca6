"""Multi-target tracking on the ground, across every drone.

Each track is a constant-velocity Kalman filter in a local metric frame. A batch of
detections (one frame of one drone) is associated to the tracks in one go: a coarse
Euclidean pre-gate, then the Mahalanobis gate with each detection's own ground
uncertainty, then the optimal assignment (``scipy.optimize.linear_sum_assignment``) on
the negative log-likelihood. Classes vote; a detection never joins a track of another
class group (a person never updates a car). Two tracks that turn out to be one object,
typically seen by two drones at once before either was confirmed, are merged, unless
the same frame saw both (then they are two objects).

Tracks live in arrays (structure of arrays) so that prediction and gating of thousands
of tracks cost a few numpy calls per batch.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from skyeye.contracts import DetectionBatch, GeoPoint, Track
from vision.fusion.frame import LocalFrame

__all__ = ["CLASSES", "CLASS_GROUPS", "GeoTracker", "TrackerSettings"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
G = TypeVar("G", bound=np.generic)

CLASSES: tuple[str, ...] = ("car", "van", "truck", "bus", "motorcycle", "person", "boat", "other")
CLASS_GROUPS: dict[str, str] = {
    "car": "vehicle",
    "van": "vehicle",
    "truck": "vehicle",
    "bus": "vehicle",
    "motorcycle": "vehicle",
    "person": "person",
    "boat": "boat",
    "other": "other",
}
_CLASS_INDEX = {name: i for i, name in enumerate(CLASSES)}
_GROUP_OF_CLASS = np.array(
    [sorted(set(CLASS_GROUPS.values())).index(CLASS_GROUPS[c]) for c in CLASSES], dtype=np.int64
)
_INFEASIBLE = 1e9


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackerSettings:
    """Tuning of the ground tracker; distances in metres, times in seconds."""

    gate_chi2: float = 13.8  # 99.9 % of a 2-D Gaussian
    default_sigma_m: float = 5.0
    accel_sigma_m_s2: float = 4.0  # urban traffic stops and starts hard
    initial_speed_sigma_m_s: float = 10.0
    coarse_gate_m: float = 80.0
    confirm_hits: int = 3
    tentative_max_age_s: float = 2.0
    confirmed_max_age_s: float = 8.0
    merge_chi2: float = 9.2
    merge_gate_m: float = 20.0
    trail_length: int = 30
    min_confidence: float = 0.2


def class_index(name: str) -> int:
    return _CLASS_INDEX.get(name, _CLASS_INDEX["other"])


class GeoTracker:
    """Tracks objects on the ground from detection batches of any number of drones."""

    def __init__(self, frame: LocalFrame, settings: TrackerSettings | None = None) -> None:
        self.frame = frame
        self.settings = settings or TrackerSettings()
        capacity = 256
        self._x = np.zeros((capacity, 4))
        self._p = np.zeros((capacity, 4, 4))
        self._t = np.zeros(capacity)
        self._first = np.zeros(capacity)
        self._hits = np.zeros(capacity, dtype=np.int64)
        self._alive = np.zeros(capacity, dtype=bool)
        self._confirmed = np.zeros(capacity, dtype=bool)
        self._votes = np.zeros((capacity, len(CLASSES)))
        self._frame_key = np.full(capacity, -1, dtype=np.int64)
        self._ids: list[str] = [""] * capacity
        self._seen_by: list[set[str]] = [set() for _ in range(capacity)]
        self._trails: list[deque[tuple[float, float]]] = [deque() for _ in range(capacity)]
        self._free: list[int] = list(range(capacity - 1, -1, -1))
        self._next_id = itertools.count(1)
        self._frame_keys: dict[tuple[str, int], int] = {}
        self.detections_processed = 0

    # ------------------------------------------------------------------ input

    def update_batch(self, batch: DetectionBatch) -> None:
        """Fuse one frame's projected detections (those without a ground position are skipped)."""
        located = [
            d
            for d in batch.detections
            if d.lat_deg is not None
            and d.lon_deg is not None
            and d.confidence >= self.settings.min_confidence
        ]
        if not located:
            return
        lat = np.array([d.lat_deg for d in located], dtype=np.float64)
        lon = np.array([d.lon_deg for d in located], dtype=np.float64)
        east, north = self.frame.to_local(lat, lon)
        sigma = np.array(
            [d.ground_sigma_m or self.settings.default_sigma_m for d in located], dtype=np.float64
        )
        classes = np.array([class_index(d.class_name) for d in located], dtype=np.int64)
        confidence = np.array([d.confidence for d in located], dtype=np.float64)
        self.update(
            time_s=batch.capture_time.timestamp(),
            east_m=east,
            north_m=north,
            sigma_m=sigma,
            classes=classes,
            confidence=confidence,
            source=batch.vehicle_id,
            frame_id=batch.frame_id,
        )

    def update(
        self,
        *,
        time_s: float,
        east_m: FloatArray,
        north_m: FloatArray,
        sigma_m: FloatArray,
        classes: IntArray,
        confidence: FloatArray,
        source: str,
        frame_id: int,
    ) -> None:
        """Fuse one frame's ground observations (arrays of equal length)."""
        count = len(east_m)
        self.detections_processed += count
        frame_key = self._frame_keys.setdefault((source, frame_id), len(self._frame_keys))
        if len(self._frame_keys) > 100_000:
            self._frame_keys.clear()
        z = np.stack([east_m, north_m], axis=1)
        r = sigma_m**2
        assigned_det, assigned_trk = self._associate(time_s, z, r, classes)
        if len(assigned_det):
            self._kalman_update(assigned_trk, time_s, z[assigned_det], r[assigned_det])
            for det, trk in zip(assigned_det.tolist(), assigned_trk.tolist(), strict=True):
                self._after_update(trk, time_s, source, frame_key, classes[det], confidence[det])
        unassigned = np.setdiff1d(np.arange(count), assigned_det, assume_unique=True)
        for det in unassigned.tolist():
            trk = self._create(time_s, z[det], r[det])
            self._after_update(trk, time_s, source, frame_key, classes[det], confidence[det])
        if len(assigned_trk):
            self._merge_duplicates(assigned_trk, time_s)
        self.prune(time_s)

    # ------------------------------------------------------------------ association

    def _predict(self, idx: IntArray, time_s: float) -> tuple[FloatArray, FloatArray]:
        """State and covariance of tracks ``idx`` predicted to ``time_s`` (not stored)."""
        dt = time_s - self._t[idx]
        f = np.broadcast_to(np.eye(4), (len(idx), 4, 4)).copy()
        f[:, 0, 2] = dt
        f[:, 1, 3] = dt
        x = np.einsum("nij,nj->ni", f, self._x[idx])
        p = np.einsum("nij,njk,nlk->nil", f, self._p[idx], f)
        q = self.settings.accel_sigma_m_s2**2
        adt = np.abs(dt)
        dt2, dt3, dt4 = adt**2, adt**3 / 2, adt**4 / 4
        for axis in (0, 1):
            p[:, axis, axis] += q * dt4
            p[:, axis, axis + 2] += q * dt3
            p[:, axis + 2, axis] += q * dt3
            p[:, axis + 2, axis + 2] += q * dt2
        return x, p

    def _associate(
        self, time_s: float, z: FloatArray, r: FloatArray, classes: IntArray
    ) -> tuple[IntArray, IntArray]:
        empty = np.zeros(0, dtype=np.int64)
        alive = np.flatnonzero(self._alive)
        if not len(alive):
            return empty, empty
        dt = time_s - self._t[alive]
        dx = z[:, 0, None] - (self._x[alive, 0] + self._x[alive, 2] * dt)[None, :]
        dy = z[:, 1, None] - (self._x[alive, 1] + self._x[alive, 3] * dt)[None, :]
        near = dx * dx + dy * dy < self.settings.coarse_gate_m**2
        candidates = alive[near.any(axis=0)]
        if not len(candidates):
            return empty, empty
        x, p = self._predict(candidates, time_s)
        y = z[:, None, :] - x[None, :, :2]
        s = p[None, :, :2, :2] + r[:, None, None, None] * np.eye(2)
        det_s = s[..., 0, 0] * s[..., 1, 1] - s[..., 0, 1] * s[..., 1, 0]
        inv00, inv11, inv01 = s[..., 1, 1] / det_s, s[..., 0, 0] / det_s, -s[..., 0, 1] / det_s
        m2 = y[..., 0] ** 2 * inv00 + 2 * y[..., 0] * y[..., 1] * inv01 + y[..., 1] ** 2 * inv11
        track_class = self._votes[candidates].argmax(axis=1)
        same_group = _GROUP_OF_CLASS[classes][:, None] == _GROUP_OF_CLASS[track_class][None, :]
        feasible = (m2 < self.settings.gate_chi2) & same_group
        if not feasible.any():
            return empty, empty
        cost = np.where(feasible, m2 + np.log(det_s), _INFEASIBLE)
        rows, cols = linear_sum_assignment(cost)
        keep = feasible[rows, cols]
        return rows[keep].astype(np.int64), candidates[cols[keep]].astype(np.int64)

    def _kalman_update(self, idx: IntArray, time_s: float, z: FloatArray, r: FloatArray) -> None:
        x, p = self._predict(idx, time_s)
        s = p[:, :2, :2] + r[:, None, None] * np.eye(2)
        k = np.einsum("nij,njk->nik", p[:, :, :2], np.linalg.inv(s))
        x = x + np.einsum("nij,nj->ni", k, z - x[:, :2])
        i_kh = np.broadcast_to(np.eye(4), (len(idx), 4, 4)).copy()
        i_kh[:, :, :2] -= k
        self._x[idx] = x
        self._p[idx] = np.einsum("nij,njk->nik", i_kh, p)
        self._t[idx] = time_s

    def _after_update(
        self, trk: int, time_s: float, source: str, frame_key: int, cls: int, confidence: float
    ) -> None:
        self._hits[trk] += 1
        self._votes[trk, cls] += confidence
        self._seen_by[trk].add(source)
        self._frame_key[trk] = frame_key
        trail = self._trails[trk]
        trail.append((float(self._x[trk, 0]), float(self._x[trk, 1])))
        while len(trail) > self.settings.trail_length:
            trail.popleft()
        if self._hits[trk] >= self.settings.confirm_hits:
            self._confirmed[trk] = True

    # ------------------------------------------------------------------ lifecycle

    def _create(self, time_s: float, z: FloatArray, r: float) -> int:
        if not self._free:
            self._grow()
        trk = self._free.pop()
        v = self.settings.initial_speed_sigma_m_s**2
        self._x[trk] = (z[0], z[1], 0.0, 0.0)
        self._p[trk] = np.diag((r, r, v, v))
        self._t[trk] = time_s
        self._first[trk] = time_s
        self._hits[trk] = 0
        self._alive[trk] = True
        self._confirmed[trk] = False
        self._votes[trk] = 0.0
        self._ids[trk] = f"T{next(self._next_id)}"
        self._seen_by[trk] = set()
        self._trails[trk] = deque()
        return trk

    def _grow(self) -> None:
        old = len(self._alive)
        new = old * 2

        def grow(array: npt.NDArray[G], fill: float = 0) -> npt.NDArray[G]:
            bigger = np.full((new, *array.shape[1:]), fill, dtype=array.dtype)
            bigger[:old] = array
            return bigger

        self._x = grow(self._x)
        self._p = grow(self._p)
        self._t = grow(self._t)
        self._first = grow(self._first)
        self._hits = grow(self._hits)
        self._alive = grow(self._alive, fill=False)
        self._confirmed = grow(self._confirmed, fill=False)
        self._votes = grow(self._votes)
        self._frame_key = grow(self._frame_key, fill=-1)
        self._ids.extend([""] * (new - old))
        self._seen_by.extend(set() for _ in range(new - old))
        self._trails.extend(deque() for _ in range(new - old))
        self._free.extend(range(new - 1, old - 1, -1))

    def _merge_duplicates(self, updated: IntArray, time_s: float) -> None:
        alive = np.flatnonzero(self._alive)
        upd = np.unique(updated)
        dx = self._x[upd, 0, None] - self._x[None, alive, 0]
        dy = self._x[upd, 1, None] - self._x[None, alive, 1]
        close = dx * dx + dy * dy < self.settings.merge_gate_m**2
        close &= alive[None, :] != upd[:, None]
        close &= self._frame_key[alive][None, :] != self._frame_key[upd][:, None]
        if not close.any():
            return
        rows, cols = np.nonzero(close)
        first, second = upd[rows], alive[cols]
        x, p = self._predict(second, time_s)
        s = p[:, :2, :2] + self._p[first, :2, :2]
        y = x[:, :2] - self._x[first, :2]
        m2 = np.einsum("ni,nij,nj->n", y, np.linalg.inv(s), y)
        groups = _GROUP_OF_CLASS[self._votes.argmax(axis=1)]
        match = (m2 < self.settings.merge_chi2) & (groups[first] == groups[second])
        for a, b in zip(first[match].tolist(), second[match].tolist(), strict=True):
            if not (self._alive[a] and self._alive[b]):
                continue
            keep, drop = (a, b) if self._first[a] <= self._first[b] else (b, a)
            self._absorb(keep, drop)

    def _absorb(self, keep: int, drop: int) -> None:
        self._hits[keep] += self._hits[drop]
        self._votes[keep] += self._votes[drop]
        self._seen_by[keep] |= self._seen_by[drop]
        self._first[keep] = min(self._first[keep], self._first[drop])
        self._confirmed[keep] |= (
            self._confirmed[drop] or self._hits[keep] >= self.settings.confirm_hits
        )
        self._kill(drop)

    def _kill(self, trk: int) -> None:
        self._alive[trk] = False
        self._confirmed[trk] = False
        self._free.append(trk)

    def prune(self, time_s: float) -> None:
        """Drop tentative tracks not updated lately and confirmed ones lost for too long."""
        age = time_s - self._t
        stale = self._alive & (
            (~self._confirmed & (age > self.settings.tentative_max_age_s))
            | (self._confirmed & (age > self.settings.confirmed_max_age_s))
        )
        for trk in np.flatnonzero(stale).tolist():
            self._kill(trk)

    # ------------------------------------------------------------------ output

    @property
    def track_count(self) -> int:
        return int(self._confirmed.sum())

    def tracks(self, *, include_tentative: bool = False) -> list[Track]:
        """Confirmed tracks (and tentative ones if asked) as contract values."""
        mask = self._alive if include_tentative else self._confirmed
        idx = np.flatnonzero(mask)
        if not len(idx):
            return []
        lat, lon = self.frame.to_geo(self._x[idx, 0], self._x[idx, 1])
        trail_points = [self._trails[i] for i in idx.tolist()]
        flat = [pt for trail in trail_points for pt in trail]
        trail_lat, trail_lon = self.frame.to_geo(
            np.array([p[0] for p in flat], dtype=np.float64),
            np.array([p[1] for p in flat], dtype=np.float64),
        )
        out: list[Track] = []
        offset = 0
        for n, trk in enumerate(idx.tolist()):
            votes = self._votes[trk]
            best = int(votes.argmax())
            total = float(votes.sum()) or 1.0
            length = len(trail_points[n])
            trail = tuple(
                GeoPoint(lat_deg=float(trail_lat[k]), lon_deg=float(trail_lon[k]))
                for k in range(offset, offset + length)
            )
            offset += length
            pos_var = float(self._p[trk, 0, 0] + self._p[trk, 1, 1]) / 2
            out.append(
                Track(
                    track_id=self._ids[trk],
                    class_name=CLASSES[best],
                    class_confidence=min(1.0, float(votes[best]) / total),
                    lat_deg=float(lat[n]),
                    lon_deg=float(lon[n]),
                    vel_east_m_s=float(self._x[trk, 2]),
                    vel_north_m_s=float(self._x[trk, 3]),
                    position_sigma_m=max(0.0, pos_var) ** 0.5,
                    first_seen=datetime.fromtimestamp(float(self._first[trk]), UTC),
                    last_seen=datetime.fromtimestamp(float(self._t[trk]), UTC),
                    seen_by=tuple(sorted(self._seen_by[trk])),
                    trail=trail,
                )
            )
        return out

    def positions(self) -> tuple[list[str], FloatArray]:
        """Ids and local (east, north) of confirmed tracks: for metrics and tests."""
        idx = np.flatnonzero(self._confirmed)
        return [self._ids[i] for i in idx.tolist()], self._x[idx, :2].copy()
