"""Loading a model draws no library progress bar into the run's output (issue 14, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _load_embedder(prelude: str) -> str:
    """stderr of a fresh process that loads the packaged MiniLM through the project's embedder."""
    script = f"{prelude}\nfrom workbench_dagster.text.embeddings import TextEmbedder\nprint(TextEmbedder().dim)"
    # a clean environment: an earlier test that loaded a model in this process set the silencer's variables
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE")}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )
    assert out.returncode == 0 and out.stdout.strip() == "384", out.stderr
    return out.stderr


def test_the_embedder_loads_without_a_loading_bar():
    assert "Loading weights" not in _load_embedder("")


def test_the_same_load_draws_the_bar_when_the_library_is_left_alone():
    """The check above can fail: stub the silencer out and transformers draws its bar again."""
    prelude = "import workbench_dagster.backends.local_models as m\nm.quiet_progress_bars = lambda: None"
    assert "Loading weights" in _load_embedder(prelude)
