"""graph.summaries: community summaries written by a text model through the real gemini and openai
clients against local fake servers; cached; failures keep the template summary and say why."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.fakes.common import FakeState
from tests.fakes.gemini_server import fake_gemini_server
from tests.fakes.openai_server import OpenAIState, fake_openai_server
from tests.helpers import SETTINGS, planted_corpus, write_config
from workbench_dagster.backends.base import BackendUnavailable
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.captioning.caption_loop import RetryPolicy
from workbench_dagster.errors import WorkbenchConfigError
from workbench_dagster.networks.community_cards import community_table
from workbench_dagster.networks.narratives import narrate_communities, parse_summary, render_summary_prompt
from workbench_dagster.networks.variants import build_semantic_graph, centrality_and_communities
from workbench_dagster.scenario.config import load_config

KEY_ENV = "WB_TEST_SUMMARY_KEY"
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01)


@pytest.fixture(scope="module")
def cards_and_captions(scenario):
    captions, embeddings, visual, _, texts = planted_corpus()
    labels = scenario.label_ids  # the planted corpus uses 12 labels: fold them onto the scenario's 9
    rename = {f"lab{i}": labels[i % len(labels)] for i in range(12)}
    captions["labels"] = [list(dict.fromkeys(rename[lab] for lab in labs)) for labs in captions["labels"]]
    captions["caption"] = [f"caption of {i}" for i in captions["image_id"]]
    edges = build_semantic_graph("m1", captions, embeddings, labels, SETTINGS, visual)
    centrality, _ = centrality_and_communities("m1", captions, edges, SETTINGS)
    return community_table("m1", centrality, captions, texts, edges), captions


@pytest.fixture(scope="module")
def scenario():
    from tests.helpers import ROOT
    from workbench_dagster.scenario.scenario_file import load_scenario

    return load_scenario(ROOT / "scenarios" / "atropia.yaml")


def summaries_config(tmp_path, **summaries):
    return load_config(write_config(tmp_path, graph={"k": 5, "summaries": summaries})).graph.summaries


def eligible(cards: pd.DataFrame, settings) -> pd.Series:
    return (cards["level"] <= settings.max_level) & (cards["size"] >= settings.min_size)


@pytest.mark.parametrize("backend", ["openai", "gemini"])
def test_a_text_model_writes_the_summaries_once_and_the_cache_answers_after(
    tmp_path, monkeypatch, cards_and_captions, scenario, backend
):
    cards, captions = cards_and_captions
    state = OpenAIState() if backend == "openai" else FakeState()
    serve = fake_openai_server if backend == "openai" else fake_gemini_server
    monkeypatch.setenv(KEY_ENV, "test-key")
    with serve(state) as server:
        settings = summaries_config(
            tmp_path,
            backend=backend,
            model="fake-writer",
            api_key_env=KEY_ENV,
            base_url=server.url + ("/v1" if backend == "openai" else ""),
            max_level=1,
            min_size=3,
        )
        cache = CallCache(tmp_path / "calls")
        asked = eligible(cards, settings)
        assert 0 < asked.sum() < len(cards)  # some cards are too small or too deep to be asked
        state.faults.append({"status": 500})  # retried
        out, counts = narrate_communities(cards, captions, scenario, settings, cache, retry=FAST)
        assert counts == {
            "asked": asked.sum(),
            "called": asked.sum(),
            "written_by_model": asked.sum(),
            "failed": 0,
            "flagged_captions_left_out": 0,
        }
        assert state.calls == asked.sum() + 1
        by_model = out[asked.to_numpy()]
        assert (by_model["summary_source"] == "fake-writer").all() and by_model["summary_error"].isna().all()
        for row in by_model.itertuples():
            assert row.summary.startswith(f"These {row.size} images tell one story")  # the card reached the model
            assert scenario.label_name(row.top_labels[0]) in row.summary  # labels by name, not by id
        untouched = out[~asked.to_numpy()]
        assert (untouched["summary_source"] == "template").all()
        assert (untouched["summary"] == cards.loc[~asked, "summary"].to_numpy()).all()
        sent = " ".join(str(body) for body in state.bodies)
        central = by_model.iloc[0]["central_images"][0]
        assert f"caption of {central}" in sent  # central images' captions are in the prompt
        assert "test-key" not in out.to_string()

        again, counts = narrate_communities(cards, captions, scenario, settings, cache, retry=FAST)
        assert counts["called"] == 0 and state.calls == asked.sum() + 1
        pd.testing.assert_frame_equal(again, out)


def test_a_failed_or_malformed_summary_keeps_the_template_with_its_reason_and_is_asked_again(
    tmp_path, monkeypatch, cards_and_captions, scenario
):
    cards, captions = cards_and_captions
    state = OpenAIState()
    monkeypatch.setenv(KEY_ENV, "test-key")
    with fake_openai_server(state) as server:
        settings = summaries_config(
            tmp_path,
            backend="openai",
            model="w",
            api_key_env=KEY_ENV,
            concurrency=1,
            base_url=server.url + "/v1",
            max_level=0,
        )
        cache = CallCache(tmp_path / "calls")
        state.faults.extend([{"status": 403}, {"content": '{"summary": "  "}'}, {"content": "no JSON at all"}])
        out, counts = narrate_communities(cards, captions, scenario, settings, cache, retry=FAST)
        assert counts["failed"] == 3 and counts["written_by_model"] == counts["asked"] - 3
        failed = out[out["summary_error"].notna()]
        assert len(failed) == 3 and (failed["summary_source"] == "template").all()
        assert (failed["summary"] == cards.loc[failed.index, "summary"]).all()  # nothing lost
        reasons = " | ".join(failed["summary_error"])
        assert "403" in reasons and "no non-empty `summary`" in reasons
        again, counts = narrate_communities(cards, captions, scenario, settings, cache, retry=FAST)
        assert counts["called"] == 3 and counts["failed"] == 0 and again["summary_error"].isna().all()


def test_template_backend_calls_nothing_and_a_missing_key_names_the_env_var(
    tmp_path, monkeypatch, cards_and_captions, scenario
):
    cards, captions = cards_and_captions
    out, counts = narrate_communities(
        cards, captions, scenario, summaries_config(tmp_path), CallCache(tmp_path / "c")
    )
    pd.testing.assert_frame_equal(out, cards.reset_index(drop=True))
    assert counts["asked"] == 0 and (out["summary_source"] == "template").all()

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = summaries_config(tmp_path, backend="openai", model="w")
    with pytest.raises(BackendUnavailable, match="OPENAI_API_KEY"):
        narrate_communities(cards, captions, scenario, settings, CallCache(tmp_path / "c"))


def test_summary_config_errors_name_the_field(tmp_path):
    with pytest.raises(WorkbenchConfigError, match="graph.summaries.*needs `model`"):
        summaries_config(tmp_path, backend="gemini")
    with pytest.raises(WorkbenchConfigError, match="graph.summaries.min_size"):
        summaries_config(tmp_path, min_size=0)
    for pasted_key in ("sk-live-123", "AIzaSyAbc123def456ghi789jkl012mno345pq"):  # the second has no '-'
        with pytest.raises(WorkbenchConfigError, match="graph.summaries.api_key_env") as caught:
            summaries_config(tmp_path, backend="gemini", model="w", api_key_env=pasted_key)
        assert pasted_key not in str(caught.value) and "<redacted>" in str(caught.value)


def test_prompt_holds_only_the_cards_facts_and_parse_is_strict(cards_and_captions, scenario):
    cards, _ = cards_and_captions
    card = cards.iloc[0]
    prompt = render_summary_prompt(scenario, card, ["A march\n with   banners."], "Spanish")
    assert f"Images in the community: {card['size']}" in prompt and "in Spanish" in prompt
    assert "- A march with banners." in prompt and scenario.movement.name in prompt
    assert (
        parse_summary('```json\n{"summary": "Two  lines\\n of text."}\n```')[0]["summary"] == "Two lines of text."
    )
    assert parse_summary('{"summary": 3}')[1] == "answer has no non-empty `summary` string"
    assert parse_summary("[1, 2]")[1] == "answer has no non-empty `summary` string"
