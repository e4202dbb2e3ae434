"""The one summary of a site check: counts by level (tax site, zone area, outside), problems,
and what a check in parts needs to join its parts. Every path (frame, stream, Dask) fills it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from iszones.errors import DataFileError
from iszones.inputs.coordinates import CoordinateEvidence, unlocated_fix

if TYPE_CHECKING:
    import pandas as pd

SHOWN_PROBLEMS = 5


def possibly_in_tax_site(
    inside: np.ndarray, distance: np.ndarray, precision: np.ndarray
) -> np.ndarray:
    """Per site: inside a tax site's polygon, or within a point tax site's stated precision.

    inside: true where a polygon decided it; distance: metres to the nearest tax site (NaN
    when none); precision: that tax site's location precision in metres (0 for polygons).
    """
    with np.errstate(invalid="ignore"):
        near = (precision > 0) & (distance <= precision)
    return np.asarray(inside, dtype=bool) | np.asarray(near, dtype=bool)


@dataclass
class CheckSummary:
    """What a check found: the counts behind the summary line and the first problems.

    in_tax_site counts sites inside or possibly inside a tax site (possibly_in_tax_site), which
    are also counted in `inside` when a zone contains them. The other fields let a check in
    parts (stream blocks, Dask partitions) be joined into a whole-file answer."""

    rows: int = 0
    inside: int = 0
    outside: int = 0
    problems: int = 0
    in_tax_site: int = 0
    outside_within: int = 0
    within_km: float | None = None
    tax_sites: bool = False  # whether tax sites were checked at all
    first_problems: list[tuple[int, str]] = field(default_factory=list)  # (row, problem)
    located: int = 0
    leading: list[str] = field(default_factory=list)  # the first rows' problems, none located
    all_swapped: bool = True  # every problem so far says the coordinates look swapped
    by_postcode: bool = False  # rows placed by postcode alone (no coordinate columns)
    evidence: CoordinateEvidence | None = None
    tax_inside_zone: int = 0  # sites counted in in_tax_site that are also inside a zone
    notes: list[str] = field(default_factory=list)  # of the data that placed rows (postcodes)

    @property
    def zone_only(self) -> int:
        """Sites inside a zone's area but not (possibly) in a tax site."""
        return self.inside - self.tax_inside_zone

    def __str__(self) -> str:
        """'12,904 sites: 5 inside or possibly inside a tax site, ...': counts as
        render.format.plural writes them."""
        sites = f"{self.rows:,} site{'' if self.rows == 1 else 's'}"
        parts = []
        if self.tax_sites:
            parts.append(f"{self.in_tax_site:,} inside or possibly inside a tax site")
            parts.append(f"{self.zone_only:,} inside a zone's area only")
        else:
            parts.append(f"{self.inside:,} inside a zone's area")
        near = (
            f" ({self.outside_within:,} within {self.within_km:g} km)"
            if self.within_km is not None
            else ""
        )
        parts.append(f"{self.outside:,} outside{near}")
        parts.append(f"{self.problems:,} with problems")
        return f"{sites}: {', '.join(parts)}"

    def merged(self, later: CheckSummary) -> CheckSummary:
        """This part's summary followed by a later part's (whose rows are numbered from 1)."""
        shift = [(row + self.rows, text) for row, text in later.first_problems]
        leading = (
            self.leading
            if self.located
            else self.leading + [_renumber(text, self.rows) for text in later.leading]
        )
        evidence = later.evidence.shifted(self.rows) if later.evidence else None
        return CheckSummary(
            rows=self.rows + later.rows,
            inside=self.inside + later.inside,
            outside=self.outside + later.outside,
            problems=self.problems + later.problems,
            in_tax_site=self.in_tax_site + later.in_tax_site,
            outside_within=self.outside_within + later.outside_within,
            within_km=self.within_km if self.within_km is not None else later.within_km,
            tax_sites=self.tax_sites or later.tax_sites,
            first_problems=(self.first_problems + shift)[:SHOWN_PROBLEMS],
            located=self.located + later.located,
            leading=leading[:3],
            all_swapped=self.all_swapped and later.all_swapped,
            by_postcode=self.by_postcode or later.by_postcode,
            evidence=sum_evidence(self.evidence, evidence),
            tax_inside_zone=self.tax_inside_zone + later.tax_inside_zone,
            notes=list(dict.fromkeys(self.notes + later.notes)),
        )

    def check_located(self, name: str) -> None:
        """DataFileError, as a whole-file read raises, when no row could be located."""
        if self.rows and not self.located:
            fix = unlocated_fix(swapped=self.all_swapped, by_postcode=self.by_postcode)
            raise DataFileError(
                f"{name}: no row could be located ({self.rows} in all)."
                f" {'; '.join(self.leading)}. {fix}"
            )

    def add_answers(
        self,
        in_zone: np.ndarray,
        distance: np.ndarray,
        in_tax: np.ndarray | None,
    ) -> None:
        """Count located sites: in a zone, metres to the nearest zone, possibly in a tax site."""
        in_zone = np.asarray(in_zone, dtype=bool)
        self.inside += int(in_zone.sum())
        self.outside += int((~in_zone).sum())
        if self.within_km is not None:
            self.outside_within += int((~in_zone & (distance <= self.within_km * 1000)).sum())
        if in_tax is not None:
            self.tax_sites = True
            self.in_tax_site += int(in_tax.sum())
            self.tax_inside_zone += int((in_tax & in_zone).sum())


def problem_texts(result: pd.DataFrame) -> np.ndarray:
    """Per row of a check result (check_sites): its problem, '' where it has none."""
    return result["problem"].astype(object).fillna("").astype(str).to_numpy()


def summarise(
    result: pd.DataFrame, within_km: float | None = None, *, name: str = ""
) -> CheckSummary:
    """The summary of a check result frame (check.check_sites)."""
    problem = problem_texts(result)
    said = problem != ""
    located = np.asarray(result["in_zone"].notna()) & ~said
    summary = CheckSummary(rows=len(result), problems=int(said.sum()), within_km=within_km)
    summary.located = int(located.sum())
    summary.first_problems = [
        (int(i) + 1, str(problem[i])) for i in np.flatnonzero(said)[:SHOWN_PROBLEMS]
    ]
    in_tax = None
    if "nearest_tax_site_id" in result and result["nearest_tax_site_id"].notna().any():
        in_tax = possibly_in_tax_site(
            result["tax_site_id"].notna().to_numpy(),
            result["nearest_tax_site_distance_m"].to_numpy(dtype=float),
            result["nearest_tax_site_precision_m"].to_numpy(dtype=float),
        )[located]
    summary.add_answers(
        result["in_zone"].to_numpy()[located].astype(bool),
        result["nearest_zone_distance_m"].to_numpy(dtype=float)[located],
        in_tax,
    )
    return summary


def _renumber(text: str, shift: int) -> str:
    number, rest = text.split(": ", 1)
    return f"row {int(number.removeprefix('row ')) + shift}: {rest}"


def sum_evidence(
    a: CoordinateEvidence | None, b: CoordinateEvidence | None
) -> CoordinateEvidence | None:
    return b if a is None else a if b is None else a + b
