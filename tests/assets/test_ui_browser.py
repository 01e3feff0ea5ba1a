"""The Dagster UI in a real browser: the pictures of per_label_scores and centrality_table are on their
asset pages as a person opens them, without a click.

A real `dagster-webserver` on a free port serves a temporary DAGSTER_HOME holding real materializations
of a one-batch, one-model config; Debian's headless `chromium` renders each asset page and dumps the DOM
after the UI's JavaScript ran. The UI shows a Markdown entry inline only under 1,000 characters, so what
must be there is each asset's thumbnail (workbench_dagster/thumbnails.py) as an `<img>` with a PNG data
URI; the full pictures sit behind "[Show Markdown]" and are checked for by their entry names.

Set WORKBENCH_SCREENSHOTS=<folder> to also save a screenshot of each page there.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import materialize_selected, write_config

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)
WEBSERVER = Path(sys.executable).with_name("dagster-webserver")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"]
IMG = re.compile(r"<img\b[^>]*>")

if CHROMIUM is None:
    pytest.skip(
        "no chromium binary on PATH (chromium, chromium-browser or google-chrome); "
        "install Debian's: apt-get install -y chromium",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A config of one 8-image training batch and one baseline, its runs materialised in the four
    partition shapes the two assets need: batch, unpartitioned, model x batch, model."""
    import dagster as dg

    from assets._shared.runner import register_batches
    from workbench_dagster.definitions import build_definitions
    from workbench_dagster.scenario.config import load_config

    folder = tmp_path_factory.mktemp("ui_browser")
    config = load_config(
        write_config(
            folder,
            batches=[{"id": "train", "n_images": 8}],
            models=[{"id": "base-a", "backend": "baseline", "params": {"channels": 4, "epochs": 1}}],
        )
    )
    defs = build_definitions(config)
    (folder / "dagster_home").mkdir()
    instance = dg.DagsterInstance.from_config(str(folder / "dagster_home"))
    register_batches(instance, config)
    steps = [
        (["prompts", "synthetic_images", "synthetic_comments"], "train"),
        (["baseline_models"], None),
        (["mllm_captions", "preprocessed_text", "embeddings", "per_label_scores"], "train|base-a"),
        (["semantic_graph", "centrality_table"], "base-a"),
    ]
    for assets, partition in steps:
        materialize_selected(defs, instance, assets, partition_key=partition, raise_on_error=True)
    instance.dispose()
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql", json.dumps({"query": query}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def webserver(home: Path):
    """The webserver on the repository's workspace.yaml, reading the test's config and home; ready once
    the code location answers for per_label_scores. The community sign-up dialog is marked seen, as a
    person who dismissed it once, so it covers nothing on the screenshots."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home / "dagster_home"),
        "WORKBENCH_CONFIG": str(home / "workbench.yaml"),
    }
    log = (home / "webserver.log").open("w")
    server = subprocess.Popen(
        [str(WEBSERVER), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            if server.poll() is not None:
                raise AssertionError(
                    f"dagster-webserver exited {server.returncode}: {(home / 'webserver.log').read_text()}"
                )
            try:
                found = _graphql(
                    url, '{ assetNodeOrError(assetKey: {path: ["per_label_scores"]}) { __typename } }'
                )
                if found.get("data", {}).get("assetNodeOrError", {}).get("__typename") == "AssetNode":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"dagster-webserver not ready in 240 s: {(home / 'webserver.log').read_text()}"
                )
            time.sleep(1)
        _graphql(url, "mutation { setNuxSeen }")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def rendered(url: str) -> str:
    """The page's DOM after its JavaScript ran (virtual time lets the UI's queries finish first)."""
    result = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, "--virtual-time-budget=30000", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(url: str, name: str) -> None:
    folder = os.environ.get("WORKBENCH_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            "--window-size=1400,1600",
            "--virtual-time-budget=30000",
            f"--screenshot={Path(folder) / name}",
            url,
        ],
        capture_output=True,
        timeout=180,
        check=True,
    )


def inline_pngs(dom: str) -> dict[str, str]:
    """alt -> src of every `<img>` whose src is a PNG data URI."""
    found = {}
    for tag in IMG.findall(dom):
        src, alt = re.search(r'\bsrc="([^"]*)"', tag), re.search(r'\balt="([^"]*)"', tag)
        if src and html.unescape(src.group(1)).startswith("data:image/png;base64,"):
            found[html.unescape(alt.group(1)) if alt else ""] = src.group(1)
    return found


PAGES = [
    # asset, its thumbnail's entry, the thumbnail's alt text, the full pictures' entries (one click away)
    (
        "per_label_scores",
        "thumbnail_label_confusion",
        "label confusion",
        ["label_confusion_heatmap", "confusion_heatmap"],
    ),
    ("centrality_table", "thumbnail_labels", "labels communities", ["network_labels", "map_labels"]),
]


@pytest.mark.parametrize(("asset", "entry", "alt", "full"), PAGES, ids=[p[0] for p in PAGES])
def test_the_asset_page_shows_its_picture_first_and_without_a_click(webserver, asset, entry, alt, full):
    page = f"{webserver}/assets/{asset}"
    dom = rendered(page)
    assert entry in dom, f"{asset}: the metadata table did not render"
    assert dom.index(entry) < dom.index(">preview<"), f"{asset}: the picture is not the first entry"
    pictures = inline_pngs(dom)
    assert alt in pictures, f"{asset}: no inline picture {alt!r}; inline PNGs: {sorted(pictures)}"
    assert all(name in dom for name in full), f"{asset}: a full picture's entry is missing: {full}"
    screenshot(page, f"{asset}.png")
