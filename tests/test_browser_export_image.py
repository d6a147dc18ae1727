"""The timeline exported as a picture for slides, in real Chromium against the real server: the
"Timeline as SVG" and "Timeline as PNG" buttons of the share fold save what the timeline shows,
with a legend of its marks under it (static/js/exportimage.js). The SVG is well-formed XML with
real text (the lanes' names, the legend's labels, a preset's packet names) and paths; the PNG's
timeline part is the on-screen timeline's size at two device pixels per CSS pixel. The files go
to test-artifacts/ to be looked at.
"""

from __future__ import annotations

import base64
import math
import re
import struct
import xml.etree.ElementTree as ET

import pytest
import test_browser_timeline as shared
from test_browser_timeline import Lab

pytestmark = [pytest.mark.browser, pytest.mark.live]

browser = shared.browser
lab = shared.lab

SVG = "{http://www.w3.org/2000/svg}"
RATIO = 2  # exportimage.js PNG_RATIO


def play_a_while(lab: Lab, until: str):
    """Play the run at speed 5 until ``until`` holds, then pause it."""
    lab.speed("5")
    if not lab.lab("window.__lab.playing"):
        lab.play()
    lab.wait(until, timeout=20, what=until)
    lab.page.get_by_role("button", name="Pause").click()
    lab.wait("!window.__lab.playing", what="paused")


def open_share(lab: Lab):
    """Open the share fold (the timeline above it may get shorter: wait for its frame)."""
    page = lab.page
    if page.locator("#share-tools").get_attribute("open") is None:
        page.locator("#share-tools > summary").click()
    page.wait_for_timeout(300)


def export(lab: Lab, kind: str, artifacts, name: str) -> tuple[str, bytes]:
    """Click the share fold's "Timeline as SVG/PNG"; the download's name and bytes."""
    page = lab.page
    open_share(lab)
    with page.expect_download() as info:
        page.locator(f"#export-{kind}").click()
    download = info.value
    path = artifacts / f"export-{name}.{kind}"
    download.save_as(path)
    name = download.suggested_filename
    status = page.locator("#share-status").text_content()
    assert status.startswith("Saved") and name in status, status
    return name, path.read_bytes()


def timeline_size(lab: Lab) -> tuple[float, float]:
    """The on-screen timeline's CSS size (its layout's, as the page draws it)."""
    w, h = lab.lab("(() => { const r = document.getElementById('timeline')"
                   ".getBoundingClientRect(); return [r.width, r.height]; })()")
    return max(200.0, w), max(160.0, h)


def device(css: float) -> int:
    return math.floor(css * RATIO + 0.5)  # Math.round, not Python's banker's rounding


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "a PNG signature"
    assert data[12:16] == b"IHDR", "the IHDR chunk first"
    return struct.unpack(">II", data[16:24])


def svg_texts(root) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def legend_labels(lab: Lab) -> set[str]:
    marks = lab.lab("window.__lab.manifest()")["marks"]
    return {mark.get("label", key) for key, mark in marks.items()}


def lane_labels(lab: Lab) -> list[str]:
    manifest = lab.lab("window.__lab.manifest()")
    labels = {lane["id"]: lane["label"] for lane in manifest["lanes"]}
    return [labels.get(lane, lane) for lane in lab.lab("window.__lab.renderer().lanes")]


def test_svg_and_png_of_the_timeline_with_its_legend(lab, artifacts):
    page = lab.page
    # a few seconds of the first run: sends, a drop, its timeout and retry (dashed lines)
    play_a_while(lab, "window.__lab.eventCount >= 30 && window.__lab.counts().retry >= 1")
    open_share(lab)
    page.locator("#timeline").screenshot(path=str(artifacts / "export-classic-screen.png"))

    name, data = export(lab, "svg", artifacts, "classic")
    assert re.fullmatch(r"delivery-lab-[a-z0-9-]+-t\d+\.svg", name), name
    root = ET.fromstring(data)
    assert root.tag == f"{SVG}svg"
    width, height = timeline_size(lab)
    assert float(root.get("width")) == pytest.approx(width, abs=0.01)
    assert float(root.get("height")) > height, "the legend is under the timeline"
    texts = svg_texts(root)
    for label in lane_labels(lab):
        assert any(label in t for t in texts), f"the lane {label} is named in {texts[:20]}"
    legend = legend_labels(lab) & set(texts)
    assert legend, "at least one legend label is text"
    assert "Legend" in texts
    paths = [el for el in root.iter(f"{SVG}path") if el.get("d")]
    assert len(paths) >= 20, "the grid, lanes, arrows and glyphs are paths"
    assert any(el.get("stroke-dasharray") for el in paths), "dashed lines stay dashed"
    assert root.find(f"{SVG}title") is not None

    name, data = export(lab, "png", artifacts, "classic")
    assert re.fullmatch(r"delivery-lab-[a-z0-9-]+-t\d+\.png", name), name
    w, h = png_size(data)
    width, height = timeline_size(lab)
    assert w == device(width), (w, width)
    assert h > device(height), (h, height)
    # the picture is drawn: many colours, the legend's background at its bottom corner
    colours, corner = page.evaluate("""async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
      const c = document.createElement("canvas");
      c.width = bitmap.width;
      c.height = bitmap.height;
      const ctx = c.getContext("2d");
      ctx.drawImage(bitmap, 0, 0);
      const px = ctx.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < px.length; i += 4 * 7) {
        seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
      }
      const last = px.length - 4;
      return [seen.size, [px[last], px[last + 1], px[last + 2], px[last + 3]]];
    }""", base64.b64encode(data).decode())
    assert colours > 20
    assert corner == [0x15, 0x17, 0x1C, 255], "the legend sits on the timeline's background"

    # exporting leaves the on-screen timeline alone: its canvas, scale, marks and hit list
    untouched = page.evaluate("""async () => {
      const { lab } = await import("/static/js/main.js");
      const { exportImage } = await import("/static/js/exportimage.js");
      const canvas = document.getElementById("timeline");
      const seen = () => JSON.stringify([canvas.width, canvas.height, window.__lab.renderer(),
        window.__lab.drawn(), window.__lab.marks()]);
      const before = seen();
      const got = [await exportImage("svg", lab), await exportImage("png", lab)];
      return [before === seen(), got.map((g) => g.blob.size > 1000)];
    }""")
    assert untouched == [True, [True, True]]
    assert not lab.problems


def test_a_preset_picture_names_its_packets(lab, artifacts):
    lab.page.select_option("#protocol-select", "mqtt")
    lab.wait("window.__lab.manifest().protocol === 'mqtt' && window.__lab.epoch !== null",
             what="the mqtt run")
    play_a_while(lab, "window.__lab.drawn().some(d => d.label === 'PUBLISH')")
    drawn = {d["label"] for d in lab.lab("window.__lab.drawn()") if d.get("label")}
    name, data = export(lab, "svg", artifacts, "mqtt")
    assert name.startswith("delivery-lab-mqtt-t")
    root = ET.fromstring(data)
    texts = set(svg_texts(root))
    assert "PUBLISH" in texts
    assert drawn <= texts, "every packet name drawn on screen is text in the picture"
    assert any("Broker" in t for t in texts)
    assert legend_labels(lab) & texts
    name, data = export(lab, "png", artifacts, "mqtt")
    assert name.startswith("delivery-lab-mqtt-t") and name.endswith(".png")
    w, _ = png_size(data)
    assert w == device(timeline_size(lab)[0])
    assert not lab.problems
