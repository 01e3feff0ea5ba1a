"""Config for the API backends: clear errors naming file and field, and keys only by env var name."""

from __future__ import annotations

import pytest

from tests.helpers import write_config
from workbench_dagster.errors import WorkbenchConfigError
from workbench_dagster.scenario.config import load_config

BASE = {"id": "base-a", "backend": "baseline", "params": {"channels": 8, "epochs": 1}}


def test_api_models_load_with_defaults(tmp_path):
    config = load_config(
        write_config(
            tmp_path,
            models=[
                BASE,
                {"id": "gemini-flash", "backend": "gemini", "model": "gemini-2.5-flash"},
                {
                    "id": "verde-qwen",
                    "backend": "openai",
                    "model": "Qwen/Qwen2-VL-7B-Instruct",
                    "base_url": "https://verde.example.org/v1",
                    "api_key_env": "VERDE_API_KEY",
                    "concurrency": 8,
                },
            ],
        )
    )
    gemini, verde = config.model("gemini-flash"), config.model("verde-qwen")
    assert (gemini.key_env, gemini.concurrency, gemini.max_retries) == ("GOOGLE_API_KEY", 4, 4)
    assert (verde.key_env, verde.concurrency) == ("VERDE_API_KEY", 8)


@pytest.mark.parametrize(
    "model,field,expected",
    [
        ({"id": "g", "backend": "gemini"}, "models[1]", "needs `model`"),
        ({"id": "o", "backend": "openai", "model": "m", "base_url": "localhost:8000"}, "base_url", "http://"),
        ({"id": "o", "backend": "openai", "model": "m", "api_key_env": "sk-live-abc123"}, "api_key_env", "NAME"),
        (
            {"id": "o", "backend": "openai", "model": "m", "concurrency": 0},
            "models[1].concurrency",
            "greater than or equal",
        ),
        (
            {"id": "o", "backend": "openai", "model": "m", "api_key": "sk-live-abc123"},
            "models[1].api_key",
            "Extra inputs",
        ),
    ],
)
def test_bad_api_model_config_names_file_field_and_expectation(tmp_path, model, field, expected):
    path = write_config(tmp_path, models=[BASE, model])
    with pytest.raises(WorkbenchConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message and field in message and expected in message
    assert "sk-live-abc123" not in message  # a key pasted into the YAML is not echoed back


def test_the_example_models_file_validates():
    import yaml

    from tests.helpers import ROOT
    from workbench_dagster.scenario.config import ModelConfig

    data = yaml.safe_load((ROOT / "examples" / "workbench.models.yaml").read_text(encoding="utf-8"))
    models = [ModelConfig.model_validate(m) for m in data["models"]]
    assert {m.backend for m in models} == {"baseline", "gemini", "openai", "transformers"}


def test_default_key_env_per_backend():
    from workbench_dagster.scenario.config import ModelConfig

    assert ModelConfig(id="a", backend="openai", model="gpt-4o-mini").key_env == "OPENAI_API_KEY"
    assert ModelConfig(id="b", backend="gemini", model="gemini-2.5-flash").key_env == "GOOGLE_API_KEY"


@pytest.mark.parametrize(
    "overrides,field,kind",
    [
        ({"images": {"backend": "dall-e"}}, "images.backend", "image"),
        ({"comments": {"backend": "dall-e"}}, "comments.backend", "text"),
        ({"models": [BASE, {"id": "x", "backend": "dall-e"}]}, "models[1].backend", "caption"),
    ],
)
def test_an_unknown_backend_lists_the_registered_names_of_its_kind(tmp_path, overrides, field, kind):
    from workbench_dagster.backends.registry import names

    path = write_config(tmp_path, **overrides)
    with pytest.raises(WorkbenchConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert field in message and "'dall-e'" in message and ", ".join(names(kind)) in message


def test_loading_the_config_imports_no_provider_sdk():
    import subprocess
    import sys

    from tests.helpers import ROOT

    code = (
        "import sys; from workbench_dagster.scenario.config import DEFAULT_CONFIG, load_config; "
        "load_config(DEFAULT_CONFIG); "
        "print(sorted(m for m in ('openai', 'google.genai', 'torch', 'transformers', 'diffusers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
