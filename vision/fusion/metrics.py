"""Tracking quality against ground truth: CLEAR MOT (MOTA) and IDF1.

Call :meth:`TrackingScore.add_frame` once per evaluation instant with the ground-truth
objects and the tracker's confirmed tracks (ids and positions in the same metric frame);
objects and tracks match when they are within ``match_distance_m`` (Hungarian on distance).
A track left unmatched within that distance of a matched object counts as a duplicate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

__all__ = ["TrackingScore"]

FloatArray = npt.NDArray[np.float64]


@dataclass(slots=True)
class TrackingScore:
    match_distance_m: float = 5.0
    ground_truth: int = 0
    misses: int = 0
    false_positives: int = 0
    id_switches: int = 0
    matches: int = 0
    duplicates: int = 0
    _last_match: dict[str, str] = field(default_factory=dict)
    _pair_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    _gt_counts: Counter[str] = field(default_factory=Counter)
    _track_counts: Counter[str] = field(default_factory=Counter)

    def add_frame(
        self,
        truth_ids: list[str],
        truth_xy: FloatArray,
        track_ids: list[str],
        track_xy: FloatArray,
    ) -> None:
        self.ground_truth += len(truth_ids)
        self._gt_counts.update(truth_ids)
        self._track_counts.update(track_ids)
        pairs: list[tuple[int, int]] = []
        if truth_ids and track_ids:
            dist = np.linalg.norm(truth_xy[:, None, :] - track_xy[None, :, :], axis=2)
            cost = np.where(dist <= self.match_distance_m, dist, 1e6)
            rows, cols = linear_sum_assignment(cost)
            pairs = [
                (r, c)
                for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
                if cost[r, c] < 1e6
            ]
        if pairs:
            matched_tracks = {c for _, c in pairs}
            matched_truth = np.array([r for r, _ in pairs])
            for c in set(range(len(track_ids))) - matched_tracks:
                gap = np.linalg.norm(truth_xy[matched_truth] - track_xy[c], axis=1).min()
                if gap <= self.match_distance_m:
                    self.duplicates += 1  # a second track on an object that already has one
        self.matches += len(pairs)
        self.misses += len(truth_ids) - len(pairs)
        self.false_positives += len(track_ids) - len(pairs)
        for r, c in pairs:
            gt, trk = truth_ids[r], track_ids[c]
            previous = self._last_match.get(gt)
            if previous is not None and previous != trk:
                self.id_switches += 1
            self._last_match[gt] = trk
            self._pair_counts[(gt, trk)] += 1

    @property
    def mota(self) -> float:
        if not self.ground_truth:
            return 0.0
        return 1.0 - (self.misses + self.false_positives + self.id_switches) / self.ground_truth

    @property
    def idf1(self) -> float:
        """IDF1 with the one-to-one identity mapping that maximises co-occurring matches."""
        gts = sorted(self._gt_counts)
        trks = sorted(self._track_counts)
        if not gts or not trks:
            return 0.0
        gi = {g: i for i, g in enumerate(gts)}
        ti = {t: i for i, t in enumerate(trks)}
        weight = np.zeros((len(gts), len(trks)))
        for (g, t), n in self._pair_counts.items():
            weight[gi[g], ti[t]] = n
        rows, cols = linear_sum_assignment(-weight)
        idtp = float(weight[rows, cols].sum())
        total_gt = float(sum(self._gt_counts.values()))
        total_trk = float(sum(self._track_counts.values()))
        return 2 * idtp / (total_gt + total_trk)
