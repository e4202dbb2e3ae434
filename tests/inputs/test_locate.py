"""Reading a typed place (`inputs.locate`) and `iszones locate` on real queries."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from iszones.cli import main
from iszones.inputs.locate import LocateError, grid_reference, joined_queries, locate


@pytest.mark.parametrize(
    ("query", "kind", "easting", "northing"),
    [
        ("DE24 8UX", "postcode", 437191, 334229),
        ("  de248ux ", "postcode", 437191, 334229),
        ("SK 45000 30000", "grid reference", 445000, 330000),
        ("SK4530", "grid reference", 445000, 330000),
        ("TQ 30080 80500", "grid reference", 530080, 180500),  # Trafalgar Square
        ("NT 25 73", "grid reference", 325000, 673000),  # Edinburgh
        ("445000, 330000", "easting,northing", 445000, 330000),
    ],
)
def test_queries_are_read_and_placed(query, kind, easting, northing):
    found = locate(query)
    assert found.kind == kind
    assert (round(found.easting), round(found.northing)) == (easting, northing)


def test_lat_lon_and_its_reverse():
    found = locate("52.83,-1.33")
    assert found.kind == "lat,lon" and (found.lat, found.lon) == (52.83, -1.33)
    with pytest.raises(LocateError, match="look like longitude,latitude"):
        locate("-1.33, 52.83")


def test_an_ambiguous_place_lists_the_others_biggest_first():
    found = locate("Newport")
    assert found.label == "Newport, Wales"
    assert len(found.others) >= 5
    assert any(o.label == "Newport, England" for o in found.others)


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("ZZ99 9ZZ", "not in the ONS Postcode Directory"),
        ("Nowhere Special", "not a postcode, coordinates, a grid reference or a UK place"),
        ("SK 450 30", "as many easting digits as northing digits"),
        ("IA 1 1", "not grid square letters"),
        ("10, 10", "not UK coordinates"),
        ("", "Type a postcode"),
    ],
)
def test_what_cannot_be_placed_says_why(query, match):
    with pytest.raises(LocateError, match=match):
        locate(query)


@pytest.mark.parametrize(
    ("query", "credited"),
    [
        ("BT3 9DT", ("ONS Postcode Directory", "Northern Ireland postcode data is licensed")),
        ("DE74 2SA", ("ONS Postcode Directory",)),
        ("Worksop", ("GeoNames",)),
        ("52.83,-1.33", ()),
    ],
)
def test_a_location_credits_the_data_that_placed_it(query, credited):
    notes = locate(query).notes
    assert len(notes) == len(credited)
    assert all(text in note for text, note in zip(credited, notes, strict=True))


def test_the_locate_command_prints_each_credit_once():
    result = CliRunner().invoke(main, ["locate", "BT3 9DT", "BT1 1AA", "Worksop"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Postcode locations: ONS Postcode Directory") == 1
    assert result.stderr.count("Northern Ireland postcode data is licensed") == 1
    assert result.stderr.count("Place names: GeoNames") == 1


def test_grid_reference_of_the_false_origin_square():
    assert grid_reference("SV", "0", "0") == (0.0, 0.0)


def test_locate_command_answers_one_line_per_query():
    result = CliRunner().invoke(main, ["locate", "NG11 0EE", "Worksop", "xx"])
    assert result.exit_code == 1  # one query could not be placed
    lines = result.stdout.splitlines()
    assert lines[0].startswith("NG11 0EE: postcode at 52.86")
    assert "Rushcliffe (E07000176)" in lines[0]  # Ratcliffe-on-Soar is Rushcliffe, not Derbyshire
    assert "from the Ratcliffe-on-Soar Power Station tax site" in lines[0]
    assert lines[1].startswith("Worksop: place Worksop, England at 53.30")
    assert "Bassetlaw (E07000171)" in lines[1]
    assert "Not found: 'xx'" in result.stderr


@pytest.mark.parametrize(
    ("words", "queries"),
    [
        (["DE74", "2SA", "Worksop"], ["DE74 2SA", "Worksop"]),
        (["b1", "1aa"], ["b1 1aa"]),
        (["SK", "45000", "30000"], ["SK 45000 30000"]),
        (["445251", "325658"], ["445251 325658"]),
        (["Worksop", "Derby"], ["Worksop", "Derby"]),  # places stay apart
        (["SK", "450", "30000"], ["SK", "450", "30000"]),  # not a grid reference
        (["2SA", "DE74"], ["2SA", "DE74"]),  # inward code first: not a postcode
        (["DE74 2SA", "52.83,-1.33"], ["DE74 2SA", "52.83,-1.33"]),  # quoted: as given
        (["DE74"], ["DE74"]),
    ],
)
def test_words_typed_without_quotes_make_the_queries_a_person_meant(words, queries):
    assert joined_queries(words) == queries


def test_the_locate_command_reads_an_unquoted_postcode_as_one():
    result = CliRunner().invoke(main, ["locate", "DE74", "2SA", "SK", "45000", "30000"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("DE74 2SA: postcode at 52.82")
    assert lines[1].startswith("SK 45000 30000: grid reference at 52.86")


def test_two_grid_letters_alone_ask_for_digits() -> None:
    """'SK' is a 100 km square (GeoNames also lists it as a name of Usk, 80 km away)."""
    with pytest.raises(LocateError, match=r"'SK': a 100 km square .*\(e\.g\. SK 45000 30000\)"):
        locate("SK")
    assert locate("MK").label == "Milton Keynes, England"  # no grid square: a place
    assert locate("SK 45 30").kind == "grid reference"
