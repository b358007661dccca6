"""Fusion: one picture on the ground from every drone's detections and every ground report.

Multi-target tracking across drones (:class:`GeoTracker`), the coverage layer
(:class:`CoverageGrid`), reports and tracks clustered into incidents
(:class:`IncidentBook`), and the bus service that runs them (:class:`FusionService`).
"""

from vision.fusion.coverage import CoverageGrid
from vision.fusion.frame import LocalFrame
from vision.fusion.incidents import IncidentBook
from vision.fusion.metrics import TrackingScore
from vision.fusion.service import FusionService, FusionSettings
from vision.fusion.tracker import CLASSES, GeoTracker, TrackerSettings

__all__ = [
    "CLASSES",
    "CoverageGrid",
    "FusionService",
    "FusionSettings",
    "GeoTracker",
    "IncidentBook",
    "LocalFrame",
    "TrackerSettings",
    "TrackingScore",
]
