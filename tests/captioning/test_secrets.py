"""Issue 13, finding 3: a key a server echoes (in an error body, or in a model's answer) reaches no
file under the data dir: not the caption rows, not the call cache, not a text call's result.

Each registered API backend is driven through its real client against its fake server. The half
of the finding about Dagster's event log and compute logs is in tests/assets/test_secrets_dagster.py.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.fakes.common import contract_for
from tests.helpers import IDS, NAMES, images, write_config
from workbench_dagster.backends import make_backend, make_text_backend, registry
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.captioning.caption_loop import RetryPolicy, caption_with_backend
from workbench_dagster.captioning.rows import CAPTION_COLUMNS
from workbench_dagster.captioning.text_calls import TextJob, run_text_calls
from workbench_dagster.redaction import MASK, redact, redact_value
from workbench_dagster.scenario.config import ModelConfig, SummariesConfig, load_config

SECRET = "wb-canary-9f8e7d6c5b4a3210"
KEY_ENV = "WB_CANARY_API_KEY"
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02, max_total_s=5)


def _caption_rows(name: str, base_url: str, cache: CallCache) -> list[dict]:
    config = ModelConfig(
        id=f"canary-{name}", backend=name, model="fake-model", base_url=base_url, api_key_env=KEY_ENV, timeout_s=2
    )
    rows, _ = caption_with_backend(
        backend=make_backend(config),
        images=images(3),
        prompt="label this",
        prompt_version="t1",
        labels=IDS,
        label_names=NAMES,
        cache=cache,
        concurrency=1,
        retry=FAST,
    )
    return rows


def _summaries(name: str, base_url: str, cache: CallCache):
    config = SummariesConfig(backend=name, model="fake-model", base_url=base_url, api_key_env=KEY_ENV)
    jobs = [
        TextJob(f"c{i}", 'Answer as JSON {"summary": "..."}. Images in the community: 4', f"k{i}") for i in (1, 2)
    ]
    return run_text_calls(
        jobs,
        cache=cache,
        make_backend=lambda: make_text_backend(config, "summaries"),
        call=lambda backend, prompt: backend.write_json(prompt, ["summary"]),
        parse=lambda text: (json.loads(text), None),
        concurrency=1,
        retry=FAST,
    )


@pytest.mark.parametrize("name", registry.api_backends("caption"))
def test_an_echoed_key_reaches_no_file_under_the_data_dir(name, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    contract = contract_for(name)
    data = tmp_path / "data"
    cache = CallCache(data / "cache" / "calls")
    with contract.serve(contract.state(IDS, api_key=SECRET)) as server:
        base_url = server.url + contract.base_path
        server.state.faults.extend([{"echo_key": "error"}, {"echo_key": "answer"}])
        rows = _caption_rows(name, base_url, cache)
        server.state.faults.extend(
            [{"echo_key": "error"}, {"content": json.dumps({"summary": f"The key was {SECRET}."})}]
        )
        texts = _summaries(name, base_url, cache)

    echoed_error, echoed_answer, plain = rows
    assert echoed_error["parse_status"] == "error" and f"[REDACTED:{KEY_ENV}]" in echoed_error["error"]
    assert echoed_answer["parse_status"] == "ok" and f"[REDACTED:{KEY_ENV}]" in echoed_answer["caption"]
    assert plain["parse_status"] == "ok"
    assert set(texts.failures) == {"c1"} and KEY_ENV in texts.failures["c1"]
    assert texts.payloads["c2"]["summary"] == f"The key was [REDACTED:{KEY_ENV}]."

    tables = data / "tables"
    tables.mkdir(parents=True)
    # uncompressed, so a key in any column would show in the bytes
    pd.DataFrame(rows, columns=CAPTION_COLUMNS).to_parquet(tables / "mllm_captions.parquet", compression=None)
    (tables / "summaries.json").write_text(json.dumps({"payloads": texts.payloads, "failures": texts.failures}))
    files = [path for path in data.rglob("*") if path.is_file()]
    assert len(cache) == 3  # the echoed answer, the plain one, the summary (in cache/calls/store.sqlite)
    assert not [path for path in files if SECRET.encode() in path.read_bytes()]


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234",
        "API key not valid: AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
        "token hf_AbCdEfGhIjKlMnOpQrStUvWxYz rejected",
        "sent Authorization: Bearer abc.def-ghi_jkl~123",
        "github ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123 and aws AKIAABCDEFGHIJKLMNOP",
    ],
)
def test_common_key_shapes_are_masked_whatever_variable_holds_them(text):
    masked = redact(text)
    assert MASK in masked
    for secret in ("AbCdEfGh", "AIzaSy", "abc.def", "AKIAABCD"):
        assert secret not in masked


def test_words_that_look_a_little_like_keys_stay():
    text = "The task-force-coordination-committee met; a bearer of news; sk-short"
    assert redact(text) == text


def test_short_values_of_a_key_variable_are_no_secret(monkeypatch):
    """A local server takes any key ("EMPTY", "none"); masking such words would garble captions."""
    monkeypatch.setenv("OPENAI_API_KEY", "none")
    assert redact("none of the labels") == "none of the labels"


def test_every_key_variable_a_loaded_config_names_is_masked(tmp_path, monkeypatch):
    """Masked from the moment the config loads, before any backend of it is built."""
    models = [
        {"id": "base-a", "backend": "baseline"},
        {"id": "vlm", "backend": "openai", "model": "m", "api_key_env": "WB_CANARY_MODEL_KEY"},
    ]
    comments = {"backend": "gemini", "model": "m", "api_key_env": "WB_CANARY_COMMENTS_KEY"}
    graph = {"summaries": {"backend": "openai", "model": "m", "api_key_env": "WB_CANARY_SUMMARY_KEY"}}
    load_config(write_config(tmp_path, models=models, comments=comments, graph=graph))
    for name in ("WB_CANARY_MODEL_KEY", "WB_CANARY_COMMENTS_KEY", "WB_CANARY_SUMMARY_KEY"):
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    row = {"error": "keys value-of-wb_canary_model_key", "raw_output": ["value-of-wb_canary_comments_key"]}
    assert redact_value(row) == {
        "error": "keys [REDACTED:WB_CANARY_MODEL_KEY]",
        "raw_output": ["[REDACTED:WB_CANARY_COMMENTS_KEY]"],
    }
    assert redact("value-of-wb_canary_summary_key") == "[REDACTED:WB_CANARY_SUMMARY_KEY]"
