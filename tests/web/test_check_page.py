"""The "Check my sites" page through Streamlit's AppTest, on the fixture zones."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import TESTS, X0, Y0

HERE = TESTS
FIXTURES = HERE / "fixtures" / "check"
PAGE = HERE.parent / "iszones" / "web" / "check_page.py"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def page(tmp_path_factory, monkeypatch) -> AppTest:
    folder = tmp_path_factory.mktemp("data")
    (folder / "boundaries").mkdir()
    shutil.copy(FIXTURES / "zones.geojson", folder / "boundaries" / "zones.geojson")
    shutil.copy(
        HERE.parent / "data" / "boundaries" / "uk_admin_units.geojson",
        folder / "boundaries" / "uk_admin_units.geojson",
    )
    monkeypatch.setenv("ISZONES_DATA_DIR", str(folder))
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    return app.run()


def upload(app: AppTest, name: str, payload: bytes, key: str = "sites_file") -> AppTest:
    app.file_uploader(key=key).upload(name, payload, "application/octet-stream")
    return app.run()


def component_text(app: AppTest) -> str:
    """The map component's arguments (its HTML and script), as the browser would get them."""
    return " ".join(str(e.proto) for e in app.main if type(e).__name__ == "UnknownElement")


def visible_text(app: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "error", "info", "subheader")
        for e in getattr(app, kind)
    ]
    return " ".join(str(p) for p in parts)


def test_page_waits_for_a_file(page):
    assert not page.exception
    assert page.title[0].value == "Check my sites"
    assert page.info[0].value == "Choose a file of sites to start."


def test_page_checks_an_upload(page):
    app = upload(page, "sites_bng.csv", (FIXTURES / "sites_bng.csv").read_bytes())
    assert not app.exception
    assert app.subheader[0].value == (
        "11 sites: 5 inside a zone's area, 3 outside (2 within 2 km), 3 with problems"
    )
    assert [m.label for m in app.metric] == [
        "Inside a zone's area",  # the fixture folder has no tax sites
        "Outside every zone",
        "With problems",
    ]
    assert [m.value for m in app.metric] == ["5", "3", "3"]
    table = app.dataframe[0].value
    assert table.columns[:3].tolist() == ["answer", "problem", "tax_site_name"]
    user = table.columns.tolist().index("ref")
    assert table.columns[user : user + 4].tolist() == ["ref", "name", "Easting", "Northing"]
    assert len(table) == 11
    assert table["problem"].tolist()[-3:][0] == "'Easting' '4351OO' is not a number"
    assert "None" not in table["zone_name"].tolist()  # empty cells are blank
    assert table["tax_site_name"].tolist() == [""] * 11  # a column with nothing in it too
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == ["Download CSV", "Download Excel", "Download GeoJSON", "Download GeoPackage"]
    assert "#1b7837" in component_text(app) and "#762a83" in component_text(app)


def test_page_map_loads_leaflet_from_the_app(page):
    """Served by the app as on the dashboard: no CDN link that a locked-down network blocks."""
    app = upload(page, "sites_bng.csv", (FIXTURES / "sites_bng.csv").read_bytes())
    text = component_text(app)
    assert "iszones.render.assets.vendor_leaflet/" in text
    assert "cdn.jsdelivr.net" not in text and "code.jquery.com" not in text


def test_page_escapes_a_hostile_site_name(page):
    app = upload(page, "sites_bng.csv", (FIXTURES / "sites_bng.csv").read_bytes())
    html_sent = component_text(app)
    # the name is on the map as &lt;img ...&gt; (its "&" JSON-escaped as \u0026): text, not a tag
    assert "lt;img src=x onerror=alert(1)" in html_sent
    assert "<img" not in html_sent and "u003cimg" not in html_sent
    assert XSS not in visible_text(app)


def test_page_shows_a_bad_file_as_a_message(page):
    app = upload(page, f"{XSS}.csv", b"name,town\nA,Derby\n")
    assert not app.exception
    message = app.error[0].value
    assert "no coordinate columns" in message and "Add longitude and latitude" in message
    assert XSS not in message and "\\<img" in message  # markdown-escaped: shown as text
    assert not app.dataframe


def test_page_checks_against_uploaded_boundaries(page):
    app = upload(page, "sites_bng.csv", (FIXTURES / "sites_bng.csv").read_bytes())
    app = upload(
        app,
        "official.geojson",
        (FIXTURES / "official_boundary.geojson").read_bytes(),
        "boundaries_file",
    )
    assert not app.exception
    table = app.dataframe[0].value.set_index("ref")
    assert table.loc["P1", "zone_name"] == "Official tax site"
    assert table.loc["P5", "in_zone"] is False  # bundled zone 3 replaced
    app.radio(key="boundary_mode").set_value("as well as the bundled footprints").run()
    table = app.dataframe[0].value.set_index("ref")
    assert table.loc["P5", "zone_id"] == "3"
    captions = [c.value.replace("\\", "") for c in app.caption]  # md() escapes ':'
    assert any("zone 1: the bundled footprint is replaced" in c for c in captions)


def test_page_makes_download_files_only_when_asked(page, monkeypatch):
    """Results files are built by the download button's callable, not on every rerun."""
    import iszones.check.outputs

    made: list[str] = []
    real = iszones.check.outputs.result_bytes

    def counting(result, suffix, **kwargs):
        made.append(suffix)
        return real(result, suffix, **kwargs)

    monkeypatch.setattr(iszones.check.outputs, "result_bytes", counting)
    app = upload(page, "sites_bng.csv", (FIXTURES / "sites_bng.csv").read_bytes())
    assert not app.exception and app.get("download_button")
    assert made == []


def test_page_refuses_a_list_too_long_for_a_request(page, monkeypatch):
    import iszones.inputs.limits

    monkeypatch.setattr(iszones.inputs.limits, "MAX_PAGE_ROWS", 5)
    app = upload(page, "sites_bng.csv", (FIXTURES / "sites_bng.csv").read_bytes())
    assert not app.exception
    message = app.error[0].value.replace("\\", "")  # md() escapes markdown characters
    assert "sites_bng.csv: has 11 rows; this page checks up to 5" in message
    assert "iszones check" in message and not app.dataframe


def test_page_filters_to_the_rows_with_problems(page):
    app = upload(page, "sites_bng.csv", (FIXTURES / "sites_bng.csv").read_bytes())
    app = app.radio(key="show").set_value("Only problems").run()
    table = app.dataframe[0].value
    assert len(table) == 3 and (table["problem"] != "").all()
    assert "3 of 11 rows" in visible_text(app)
    app = app.radio(key="show").set_value("Only inside a zone").run()
    assert len(app.dataframe[0].value) == 5


def test_page_answers_the_tax_site_question_on_the_bundled_data(monkeypatch):
    monkeypatch.delenv("ISZONES_DATA_DIR", raising=False)
    app = AppTest.from_file(str(PAGE), default_timeout=90).run()
    sites = b"name,postcode,lat,lon\nRatcliffe,NG11 0EE,,\nBuxton,,53.2587,-1.9105\n"
    app = upload(app, "two.csv", sites)
    assert not app.exception
    assert [m.label for m in app.metric][:2] == [
        "In or possibly in a tax site",
        "In a zone's area only",
    ]
    assert [m.value for m in app.metric] == ["1", "1", "0", "0"]
    table = app.dataframe[0].value.set_index("name")
    assert "possibly inside it" in table.loc["Ratcliffe", "answer"]
    assert table.loc["Ratcliffe", "location_source"] == "postcode"
    assert table.loc["Buxton", "local_authority"] == "High Peak"


def test_page_shows_template_text_literally_and_runs_none_of_it(page, tmp_path, monkeypatch):
    """Issue 12: a site name with Jinja in it is shown as typed; nothing runs on the server."""
    from tests.templates import EXPR, LOOP, MKDIR, PWNED, assert_inert

    monkeypatch.chdir(tmp_path)
    rows = f'name,lat,lon\n"{EXPR} {MKDIR}",52.9,-1.47\n"Plot {{{{A {LOOP}",52.95,-1.2\n'
    app = upload(page, "templates.csv", rows.encode())
    assert not app.exception
    names = app.dataframe[0].value["name"].tolist()
    assert names == [f"{EXPR} {MKDIR}", f"Plot {{{{A {LOOP}"]
    assert_inert(component_text(app), EXPR, LOOP)
    assert not (tmp_path / PWNED).exists()


def test_page_refuses_hostile_workbooks_quickly(page):
    """Issue 12: a 2 KB workbook with a value in XFD1048576 once held the server for minutes."""
    import time

    from tests.hostile.corpus import encrypted_xlsx, far_cell_xlsx

    for name, payload, says in (
        ("far.xlsx", far_cell_xlsx(), "has a value in cell XFD1048576, beyond the limits"),
        ("locked.xlsx", encrypted_xlsx(), "is encrypted"),
    ):
        started = time.perf_counter()
        app = upload(page, name, payload)
        assert time.perf_counter() - started < 30
        assert not app.exception
        message = app.error[0].value.replace("\\", "")  # md() escapes markdown characters
        assert message.startswith(f"{name}: ") and says in message and "\n" not in message


def test_page_writes_its_counts_as_the_formatter_does(page, monkeypatch):
    """Over the map's limit, the caption says how many it shows as every count is written
    ('1,000 sites', not '1000 sites')."""
    import iszones.render.webmap

    monkeypatch.setattr(iszones.render.webmap, "CHECK_MAP_MAX_SITES", 1_000)
    rows = [f"s{i},{X0 + (i % 40) * 100},{Y0 + (i // 40) * 100}" for i in range(1_200)]
    app = upload(page, "many.csv", ("ref,easting,northing\n" + "\n".join(rows)).encode())
    assert not app.exception
    text = visible_text(app)
    assert "The map shows the first 1,000 sites" in text
    assert "1,200 of 1,200 rows" in text
