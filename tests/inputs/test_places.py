"""Place names from the GeoNames gazetteer."""

from __future__ import annotations

from iszones.inputs.places import find_places, uk_place_count


def test_worksop() -> None:
    (worksop,) = find_places("worksop")
    assert worksop.nation == "England" and abs(worksop.lat - 53.30) < 0.01


def test_ambiguous_names_list_every_candidate() -> None:
    found = find_places("Newport")
    assert len(found) >= 2
    assert {p.nation for p in found} >= {"Wales", "England"}
    assert found[0].population >= found[-1].population


def test_unknown_and_outside_uk() -> None:
    assert find_places("Nowhere-on-Sea-xyz") == []
    assert find_places("Akrotiri") == []  # listed under GB by GeoNames, but in Cyprus
    assert 5800 < uk_place_count() <= 5913
