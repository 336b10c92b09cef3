"""The page's downloads, through Chromium's own download path: `SVG` and `PNG` save the current
view. The SVG is parsed (ElementTree) and held against what the canvas drew (TopologyPage.inspect);
the PNG is read chunk by chunk (its size is the canvas's, its pixels are not all one colour)."""

from __future__ import annotations

import json
import struct
import tempfile
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

from chromium import Browser, inspect
from dashboard_support import wait_for

SVG_NS = "{http://www.w3.org/2000/svg}"


def download(browser: Browser, button: str, suffix: str, folder: Path) -> Path:
    browser.call("Page.setDownloadBehavior", behavior="allow", downloadPath=str(folder))
    browser.evaluate(f"document.getElementById({button!r}).click()")
    return wait_for(lambda: next((p for p in folder.glob("topology-*" + suffix) if p.stat().st_size > 0), None), 10, f"the {suffix} download")


def png_size_and_pixels(data: bytes) -> tuple:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, width, height = 8, b"", 0, 0
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    return width, height, zlib.decompress(idat)


def test_svg_and_png_downloads_of_the_current_view(page) -> None:
    browser, _, reporter = page()
    for name in ("front", "back", "cache"):
        reporter.register(name)
    for _ in range(3):
        reporter.call("front", "back", latency_ms=12)
    reporter.call("front", "redis")  # a placeholder: called, never registered
    wait_for(lambda: len(inspect(browser)["edges"]) == 2 and browser.evaluate("TopologyPage.settled()")
             and all(n["labelDrawn"] for n in inspect(browser)["nodes"]), 15, "the graph, settled, every label drawn")

    with tempfile.TemporaryDirectory(prefix="topology-downloads-") as folder:
        svg_path = download(browser, "export-svg", ".svg", Path(folder))
        downloaded = wait_for(lambda: ET.fromstring(svg_path.read_text()), 5, "the whole SVG")
        png = download(browser, "export-png", ".png", Path(folder)).read_bytes()
    width, height = canvas_size(browser)
    assert downloaded.tag == SVG_NS + "svg" and (downloaded.get("width"), downloaded.get("height")) == (str(width), str(height))
    assert {"front", "back", "cache", "redis (unregistered)"} <= {t.text for t in downloaded.iter(SVG_NS + "text")}

    # The SVG of a frame and what that frame drew, taken together (a frame later an edge label may
    # have come or gone): the same picture.
    both = json.loads(browser.evaluate("JSON.stringify({svg: TopologyPage.svg(), view: TopologyPage.inspect()})"))
    svg, view = ET.fromstring(both["svg"]), both["view"]
    texts = [t.text for t in svg.iter(SVG_NS + "text")]
    for n in view["nodes"]:
        assert n["label"] in texts, (n["label"], texts)
    for e in view["edges"]:
        if e["labelDrawn"]:
            assert e["label"] in texts, (e["label"], texts)
    # The language badges, as the frame drew them: a badge needs a node radius of 9 px, which the
    # zoom that fits the graph to the canvas gives in most layouts, not all.
    for n in view["nodes"]:
        if n["badgeDrawn"]:
            assert n["badge"] in texts, (n, texts)
    assert ("PY" in texts) == any(n["badgeDrawn"] for n in view["nodes"]), (texts, view["nodes"])
    # Each node: a filled body at its place on the canvas (the placeholder: a dashed outline).
    circles = [(float(c.get("cx")), float(c.get("cy")), c) for c in svg.iter(SVG_NS + "circle")]
    for n in view["nodes"]:
        here = [c for x, y, c in circles if abs(x - n["x"]) < 0.1 and abs(y - n["y"]) < 0.1]
        if n["name"] == "redis":
            assert any(c.get("stroke-dasharray") for c in here), n
        else:
            assert any(c.get("fill") not in (None, "none") for c in here), n
    assert len(list(svg.iter(SVG_NS + "path"))) == 2  # the two edges

    png_width, png_height, pixels = png_size_and_pixels(png)
    dpr = browser.evaluate("window.devicePixelRatio")
    assert (png_width, png_height) == (round(width * dpr), round(height * dpr))
    assert len(set(pixels[i] for i in range(0, len(pixels), 7))) > 10, "the PNG is all one colour"


def canvas_size(browser: Browser) -> tuple:
    return (browser.evaluate("document.getElementById('graph').clientWidth"), browser.evaluate("document.getElementById('graph').clientHeight"))
