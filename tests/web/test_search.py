"""Find a place: a query placed and answered by the check engine, as CLI and dashboard show it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from iszones.check.reference import bundled_reference
from iszones.cli import main
from iszones.data.catalogue import data_dir
from iszones.inputs.locate import locate
from iszones.web.search import answer_locations, zones_named


@pytest.fixture(scope="module")
def reference():
    return bundled_reference(data_dir())


def test_a_postcode_names_its_council_zone_and_nearest_tax_site(reference):
    (found,) = answer_locations([locate("DE74 2SA")], reference)
    assert found.council == "North West Leicestershire (E07000134)"
    assert found.answer.startswith("Inside East Midlands Freeport and Investment Zone")
    assert "EMAGIC" in found.answer
    assert found.line().startswith("DE74 2SA: postcode at 52.82656, -1.32987 (E 445,251")


def test_an_ambiguous_place_lists_the_others_with_their_council(reference):
    (found,) = answer_locations([locate("Newport")], reference)
    assert found.location.label == "Newport, Wales"
    assert found.row["local_authority"] == "Newport"
    councils = dict((other.label, council) for other, council in found.others[:1])
    assert councils == {"Newport, England": "Isle of Wight"}
    assert len(found.others) >= 5


def test_a_grid_reference_outside_every_zone_gives_the_nearest(reference):
    (found,) = answer_locations([locate("TF 00000 00000")], reference)
    assert found.location.kind == "grid reference"
    # TF 00000 00000 is 1.25 km from the nearest postcode (PE8 6XX)
    assert found.council == (
        "North Northamptonshire (E06000061); over 1 km from any postcode, where district"
        " borders are guesses: check the council"
    )
    assert found.row["in_zone"] is False or not found.row["in_zone"]
    assert "Outside every zone; 39.6 km from zone 22" in found.answer


def test_nothing_to_answer(reference):
    assert answer_locations([], reference) == []


@pytest.fixture(scope="module")
def zone_names() -> dict[int, str]:
    zones = bundled_reference(data_dir()).zones
    return dict(zip(zones["zone_id"], zones["name"], strict=True))


@pytest.mark.parametrize(
    ("query", "zone_ids"),
    [
        ("Humber", [5]),  # a village in Herefordshire too
        ("teesside", [21]),
        ("Tees Valley", [21]),
        ("North East", [17, 19]),
        ("Newport", [16]),
        ("Investment Zone", []),  # a kind of zone, not one zone
        ("Freeport", []),
        ("West", []),  # too vague on its own
        ("Worksop", []),
        ("DE74 2SA", []),
    ],
)
def test_a_query_that_names_a_zone_finds_it(query, zone_ids, zone_names):
    assert [z for z, _ in zones_named(query, zone_names)] == zone_ids


def test_the_locate_command_says_when_a_query_also_names_a_zone():
    result = CliRunner().invoke(main, ["locate", "Humber", "Teesside"])
    assert result.exit_code == 1  # Teesside is no place of 500 people
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Humber: place Humber, England")  # the village, as asked
    assert lines[1] == "  'Humber' also names zone 5, Humber Freeport (iszones zones --zone 5)"
    assert "Not found: 'Teesside'" in result.stderr
    assert "'Teesside' also names zone 21, Teesside Freeport" in result.stderr
