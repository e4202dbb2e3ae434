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


def test_uk_places_have_positions_and_populations_for_the_map() -> None:
    from iszones.inputs.places import uk_places

    assert len(uk_places()) == uk_place_count()
    places = {p.name: p for p in sorted(uk_places(), key=lambda p: p.population)}  # biggest wins
    kegworth = places["Kegworth"]
    assert abs(kegworth.lon + 1.28) < 0.01 and abs(kegworth.lat - 52.835) < 0.01
    assert kegworth.population > 3000
    assert places["Nottingham"].population > 250_000


def test_names_in_other_scripts_do_not_match_punctuation() -> None:
    """GeoNames' Hebrew and Japanese names fold to "'" or "==" in ASCII: typed, those found
    Manchester or Weston-super-Mare. A short Latin alternate name still counts."""
    for junk in ("'", "''", "==", "' '"):
        assert find_places(junk) == [], junk
    assert find_places("MK")[0].name == "Milton Keynes"
    assert find_places("Manchester")[0].name == "Manchester"


def test_a_place_is_listed_once_whatever_names_lead_to_it() -> None:
    """GeoNames gives Bath, Ayr and King's Lynn names that fold to the same key (case,
    accents): each was found twice, and `locate` listed the place as another of its name."""
    for name in ("Bath", "Ayr", "Kings Lynn"):
        found = [p.geonameid for p in find_places(name)]
        assert found and len(found) == len(set(found)), name


def test_alternate_names_folded_with_letters_lost_are_not_keys() -> None:
    """'Stromnæs' folded to ASCII loses its æ: 'stromns' found Stromness. Alternate names
    whose letters all fold still count ('Brynbuga' is Usk)."""
    assert find_places("stromns") == [] and find_places("tfingstoc") == []
    assert find_places("Stromness")[0].name == "Stromness"
    assert find_places("Brynbuga")[0].name == "Usk"
