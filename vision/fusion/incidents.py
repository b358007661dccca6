"""Ground reports and tracks clustered in space and time into incidents.

A report joins the open incident of a compatible category within ``radius_m`` whose last
report is at most ``window_s`` old; otherwise it opens a new incident. An incident's
priority is the highest of its reports', raised one level (up to CRITICAL) once
``corroboration`` reports from at least two sources agree. Confirmed tracks within the
radius of an incident are linked to it, so that a fleeing car is on the incident. The
status and the drone of an incident are not the book's to decide: it follows what the
controller (or a console closing it) publishes (:meth:`IncidentBook.follow`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from skyeye.contracts import Incident, IncidentStatus, Priority, Report, Track
from vision.fusion.frame import LocalFrame

__all__ = ["IncidentBook"]


@dataclass(slots=True)
class _Cluster:
    incident_id: str
    category: str
    east_m: float
    north_m: float
    first: datetime
    last: datetime
    reports: list[Report] = field(default_factory=list)
    track_ids: set[str] = field(default_factory=set)
    status: IncidentStatus = IncidentStatus.OPEN
    assigned_vehicle_id: str | None = None


class IncidentBook:
    def __init__(
        self,
        frame: LocalFrame,
        *,
        radius_m: float = 300.0,
        window_s: float = 900.0,
        corroboration: int = 3,
    ) -> None:
        self.frame = frame
        self.radius_m = radius_m
        self.window_s = window_s
        self.corroboration = corroboration
        self._clusters: dict[str, _Cluster] = {}
        self._ids = itertools.count(1)

    def add_report(self, report: Report) -> Incident:
        """File ``report`` into an incident (new or existing) and return that incident."""
        east, north = self.frame.to_local(np.array([report.lat_deg]), np.array([report.lon_deg]))
        e, n = float(east[0]), float(north[0])
        cluster = self._nearest_open(e, n, report)
        if cluster is None:
            cluster = _Cluster(
                incident_id=f"INC-{next(self._ids):05d}",
                category=report.category,
                east_m=e,
                north_m=n,
                first=report.time,
                last=report.time,
            )
            self._clusters[cluster.incident_id] = cluster
        else:
            k = len(cluster.reports)
            cluster.east_m = (cluster.east_m * k + e) / (k + 1)
            cluster.north_m = (cluster.north_m * k + n) / (k + 1)
            cluster.last = max(cluster.last, report.time)
        cluster.reports.append(report)
        return self._incident(cluster)

    def _nearest_open(self, east: float, north: float, report: Report) -> _Cluster | None:
        best: tuple[float, _Cluster] | None = None
        for cluster in self._clusters.values():
            if cluster.status is IncidentStatus.CLOSED or cluster.category != report.category:
                continue
            if abs((report.time - cluster.last).total_seconds()) > self.window_s:
                continue
            distance = float(np.hypot(cluster.east_m - east, cluster.north_m - north))
            if distance <= self.radius_m and (best is None or distance < best[0]):
                best = (distance, cluster)
        return None if best is None else best[1]

    def link_tracks(self, tracks: list[Track]) -> list[Incident]:
        """Link confirmed tracks near open incidents; returns the incidents that changed."""
        if not tracks:
            return []
        lat = np.array([t.lat_deg for t in tracks])
        lon = np.array([t.lon_deg for t in tracks])
        east, north = self.frame.to_local(lat, lon)
        changed = []
        for cluster in self._clusters.values():
            if cluster.status is IncidentStatus.CLOSED:
                continue
            near = np.hypot(east - cluster.east_m, north - cluster.north_m) <= self.radius_m
            new_ids = {
                tracks[i].track_id for i in np.flatnonzero(near).tolist()
            } - cluster.track_ids
            if new_ids:
                cluster.track_ids |= new_ids
                changed.append(self._incident(cluster))
        return changed

    def set_status(
        self, incident_id: str, status: IncidentStatus, *, vehicle_id: str | None = None
    ) -> Incident:
        cluster = self._clusters.get(incident_id)
        if cluster is None:
            raise KeyError(f"no incident {incident_id}")
        cluster.status = status
        if vehicle_id is not None:
            cluster.assigned_vehicle_id = vehicle_id
        return self._incident(cluster)

    def follow(self, incident: Incident) -> bool:
        """Take the status and drone of ``incident`` as published by whoever owns them.

        The mission controller says which drone flies an incident and whether it is open,
        dispatched or on scene; a console closes it. Returns ``False`` for an incident this
        book did not make (raised on a console), which it leaves alone.
        """
        cluster = self._clusters.get(incident.incident_id)
        if cluster is None:
            return False
        cluster.status = incident.status
        cluster.assigned_vehicle_id = incident.assigned_vehicle_id
        return True

    def incidents(self) -> list[Incident]:
        return [self._incident(c) for c in self._clusters.values()]

    def _incident(self, cluster: _Cluster) -> Incident:
        lat, lon = self.frame.to_geo(np.array([cluster.east_m]), np.array([cluster.north_m]))
        priority = max(r.priority for r in cluster.reports)
        sources = {r.source for r in cluster.reports}
        if len(cluster.reports) >= self.corroboration and len(sources) >= 2:
            priority = Priority(min(Priority.CRITICAL, priority + 1))
        texts = "; ".join(r.text for r in cluster.reports[-3:] if r.text)
        return Incident(
            incident_id=cluster.incident_id,
            time=cluster.first,
            category=cluster.category,
            priority=priority,
            lat_deg=float(lat[0]),
            lon_deg=float(lon[0]),
            status=cluster.status,
            report_ids=tuple(r.report_id for r in cluster.reports),
            track_ids=tuple(sorted(cluster.track_ids)),
            assigned_vehicle_id=cluster.assigned_vehicle_id,
            summary=f"{len(cluster.reports)} report(s) from {len(sources)} source(s): {texts}"[
                :500
            ],
        )
