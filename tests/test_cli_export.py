"""`iszones export-map` and `iszones brief`: real commands, their files, and clean errors
that write nothing. One test opens the offline HTML in headless Chromium with the network off."""

import re
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from pypdf import PdfReader

from iszones.cli import main
from tests.render.test_static import pdf_text

README = Path(__file__).resolve().parent.parent / "README.md"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def only_file(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """One export per format, made once: zone 22, as the briefing writer asks."""
    folder = tmp_path_factory.mktemp("exports")
    results = {}
    for name in ("map.png", "map.pdf", "map.html"):
        extra = ["--offline"] if name.endswith(".html") else []
        result = run("export-map", "--zone", "22", "--out", str(folder / name), *extra)
        results[name] = result
    results["brief.pdf"] = run("brief", "--zone", "22", "--out", str(folder / "brief.pdf"))
    return folder, results


@pytest.mark.parametrize("name", ["map.png", "map.pdf", "map.html", "brief.pdf"])
def test_each_format_is_written(exports, name):
    folder, results = exports
    assert results[name].exit_code == 0, results[name].output
    assert (folder / name).stat().st_size > 10_000
    assert results[name].output.startswith(f"Wrote {folder / name}")


def test_export_map_png_is_at_least_1600_px_wide(exports):
    folder, results = exports
    assert Image.open(folder / "map.png").size[0] >= 1600
    assert "PNG at 200 dpi" in results["map.png"].output
    assert "29 of 130 sites in 1 of 22 zones" in results["map.png"].output


def test_export_map_pdf_is_titled_with_the_zone_and_its_filters(exports):
    folder, _ = exports
    payload = (folder / "map.pdf").read_bytes()
    assert len(PdfReader(BytesIO(payload)).pages) == 1
    text = pdf_text(payload)
    assert text.count("East Midlands Freeport and Investment Zone") >= 3  # title, subtitle, key
    assert "Filters: East Midlands Freeport and Investment Zone · 29 of 130 sites" in text
    assert "zone 22 ·" not in text  # the subtitle names the zone, not its number
    assert "Data last checked 30 November 2026" in text
    assert "Nottingham" in text and "Loughborough" in text  # towns, for the reader's bearings
    assert "Town names: GeoNames (CC BY 4.0)" in text
    assert "Office for National Statistics" in text  # the council districts' credit


def test_export_map_html_has_every_site_and_inlines_the_map_library(exports, catalogue):
    folder, results = exports
    text = (folder / "map.html").read_text(encoding="utf-8")
    inside = catalogue.sites[catalogue.sites["zone_ids"].apply(lambda ids: 22 in ids)]
    for site_id in inside["site_id"]:
        assert re.search(rf'"site_id":\s*"{site_id}"', text), site_id
    assert not re.search(r"<script[^>]+src=", text)
    assert "offline: map library inlined" in results["map.html"].output


def test_brief_command_writes_the_two_page_sheet(exports):
    folder, results = exports
    reader = PdfReader(folder / "brief.pdf")
    assert len(reader.pages) == 2
    assert "zone briefing for East Midlands Freeport and Investment Zone" in (
        results["brief.pdf"].output
    )


def test_export_map_at_300_dpi(tmp_path):
    out = tmp_path / "celtic.png"
    result = run("export-map", "--zone", "7", "--dpi", "300", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (3507, 2480)


def test_filters_are_matched_without_regard_to_case_or_dashes(tmp_path):
    out = tmp_path / "clean.pdf"
    result = run(
        "export-map",
        "--sector",
        "clean energy industries",
        "--sector",
        "Advanced Manufacturing",
        "--programme",
        "investment-zone",
        "--nation",
        "england",
        "--kind",
        "Tax site",
        "--title",
        "Clean energy and manufacturing: Investment Zone tax sites",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert "Clean energy and manufacturing: Investment Zone tax sites" in text
    assert (
        "Filters: sectors Clean Energy Industries or Advanced Manufacturing; programme"
        " Investment Zone; nation England; site kind Tax site" in text
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--zone", "99"], r"unknown zone 99 \(zones are numbered 1-22\)"),
        (["--zone", "east"], r"zone must be a zone number such as 22, not 'east'"),
        (["--sector", "Mining"], r"unknown sector 'Mining' \(choose from: Advanced Manufacturing"),
        (["--programme", "enterprise"], r"unknown programme 'enterprise' \(choose from: freeport"),
        (["--nation", "Narnia"], r"unknown nation 'Narnia'"),
        (["--kind", "rocket"], r"unknown site kind 'rocket' \(choose from: tax_site"),
        (["--dpi", "2000"], r"dpi 2000 is out of range; choose 72-600"),
    ],
)
def test_export_map_bad_options_exit_1_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "map.png"
    result = run("export-map", *args, "--out", str(out))
    assert result.exit_code == 1
    assert re.search(message, result.output), result.output
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output
    assert only_file(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("map.docx", r"map.docx: unknown file type '.docx'; expected .png, .pdf, .html"),
        ("map", r"map: unknown file type \(no extension\); expected .png, .pdf, .html"),
    ],
)
def test_export_map_unknown_extension(tmp_path, name, message):
    result = run("export-map", "--out", str(tmp_path / name))
    assert result.exit_code == 1
    assert re.search(message, result.output), result.output
    assert only_file(tmp_path) == []


def test_export_map_under_a_file_is_unwritable(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    result = run("export-map", "--zone", "22", "--out", str(blocker / "map.png"))
    assert result.exit_code == 1
    assert "cannot write there" in result.output and "is a file, not a folder" in result.output
    assert only_file(tmp_path) == ["notes.txt"]


def test_export_map_onto_a_folder_is_refused(tmp_path):
    (tmp_path / "maps.png").mkdir()
    result = run("export-map", "--out", str(tmp_path / "maps.png"))
    assert result.exit_code == 1
    assert "maps.png: is a folder; give a file name" in result.output


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    import iszones.data.catalogue

    out = tmp_path / "map.pdf"
    out.write_bytes(b"old map")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(iszones.data.catalogue.os, "replace", refuse)
    result = run("export-map", "--zone", "7", "--out", str(out))
    assert result.exit_code == 1
    assert f"{out}: cannot write (Permission denied)" in result.output
    assert out.read_bytes() == b"old map"
    assert only_file(tmp_path) == ["map.pdf"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--zone", "23", "--out", "b.pdf"], r"unknown zone 23 \(zones are numbered 1-22\)"),
        (["--zone", "x", "--out", "b.pdf"], r"zone must be a zone number such as 22"),
        (["--zone", "22", "--out", "b.png"], r"b.png: unknown file type '.png'; expected .pdf"),
    ],
)
def test_brief_bad_options_exit_1_and_write_nothing(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = run("brief", *args)
    assert result.exit_code == 1
    assert re.search(message, result.output), result.output
    assert only_file(tmp_path) == []


def test_brief_needs_a_zone(tmp_path):
    result = CliRunner().invoke(main, ["brief", "--out", str(tmp_path / "b.pdf")])
    assert result.exit_code == 2
    assert "Missing option '--zone'" in result.output


@pytest.mark.parametrize(
    "option",
    [
        "--sector",
        "--programme",
        "--nation",
        "--zone",
        "--kind",
        "--q",
        "--title",
        "--out",
        "--dpi",
        "--offline",
    ],
)
def test_export_map_help_documents_every_option(option):
    assert option in run("export-map", "--help").output


@pytest.mark.parametrize("command", ["export-map", "brief"])
def test_the_readme_documents_the_command(command):
    assert f"iszones {command}" in README.read_text(encoding="utf-8")


# ---------------------------------------------------------------- the browser, network off

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_NETWORK = [
    "--proxy-server=http://127.0.0.1:9",  # nothing listens there: every request fails
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def rendered_dom(page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran, in headless Chromium with the network off."""
    command = [
        str(CHROMIUM),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *NO_NETWORK,
        "--virtual-time-budget=8000",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return done.stdout


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_offline_html_renders_with_the_network_off(exports, tmp_path):
    folder, _ = exports
    dom = rendered_dom(folder / "map.html", tmp_path / "profile")
    assert "leaflet-map-pane" in dom  # Leaflet ran and built the map
    assert dom.count("leaflet-interactive") >= 3  # the zone and the site markers were drawn
    assert "isz-legend" in dom and "29 of 130 sites in 1 of 22 zones" in dom


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_the_network_really_is_off_for_an_online_html(tmp_path):
    # The control: the same map linking Leaflet from its CDN stays blank in this browser.
    page = tmp_path / "online.html"
    assert run("export-map", "--zone", "22", "--out", str(page)).exit_code == 0
    dom = rendered_dom(page, tmp_path / "profile")
    assert "<html" in dom
    assert "leaflet-map-pane" not in dom
