"""The transformers caption backend, on a tiny random LLaVA built offline into a temporary folder.

The model, its CLIP image processor and a byte-level BPE tokenizer (with the <image> token and a
chat template) are built from configs and saved with save_pretrained, then loaded back through
the backend's real loading code by local path. Random weights produce garbage text: what is
checked is the plumbing (batching, padding, token counts, determinism, errors).
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.helpers import byte_level_tokenizer, caption_rows
from workbench_dagster.backends.base import BackendError, BackendUnavailable, CaptionRequest, RawAnswer

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'].upper() }}: "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>{{ '\\n' }}{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
    "{{ '\\n' }}{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


TINY_LAYERS = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}


def build_tiny_llava(folder) -> str:
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    corpus = [
        '{"labels": ["protest_march", "banner"], "caption": "A crowd marches at night in Atropia."}',
        "Look at the image. Answer with one JSON object and nothing else.",
        "USER: ASSISTANT:",
    ] * 4
    tokenizer = byte_level_tokenizer(
        corpus,
        400,
        ["<pad>", "<s>", "</s>", "<image>"],
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        additional_special_tokens=["<image>"],
    )
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=1,  # CLIP's CLS
        chat_template=CHAT_TEMPLATE,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(**TINY_LAYERS, image_size=32, patch_size=8, projection_dim=32),
        text_config=LlamaConfig(
            **TINY_LAYERS,
            vocab_size=len(tokenizer),
            num_key_value_heads=2,
            max_position_embeddings=4096,
            bos_token_id=1,
            eos_token_id=2,
            pad_token_id=0,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        image_seq_length=17,
    )
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory) -> str:
    pytest.importorskip("tokenizers")
    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


@pytest.fixture(scope="module")
def requests_() -> list[CaptionRequest]:
    import hashlib
    from pathlib import Path

    from workbench_dagster.generation.procedural import render_image
    from workbench_dagster.scenario.prompts import expand_batch
    from workbench_dagster.scenario.scenario_file import load_scenario

    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "atropia.yaml")
    prompts = expand_batch(scenario, "b-vlm", 3, seed=5)
    out = []
    for i, prompt in enumerate(prompts):
        data = render_image(prompt.spec, 96, 72, prompt.seed)
        out.append(CaptionRequest(f"img-{i}", "b-vlm", hashlib.sha256(data).hexdigest(), data))
    return out


def backend_for(path: str, device: str = "cpu", dtype=torch.float32, **extra):
    """The registry's transformers backend on the tiny model, through a ModelConfig as a config file gives it."""
    from workbench_dagster.backends import make_backend
    from workbench_dagster.scenario.config import ModelConfig

    config = ModelConfig(
        id="tiny-llava", backend="transformers", model=path, max_output_tokens=12, batch_size=2, **extra
    )
    return make_backend(config, device=device, dtype=dtype)


def test_caption_batch_counts_tokens_and_is_deterministic(tiny_vlm, requests_):
    from workbench_dagster.backends.base import BatchedCaptionBackend, CaptionBackend
    from workbench_dagster.backends.transformers_vlm import TransformersVLMBackend

    backend = backend_for(tiny_vlm)
    assert isinstance(backend, TransformersVLMBackend)
    assert isinstance(backend, CaptionBackend) and isinstance(backend, BatchedCaptionBackend)
    assert backend.model.training is False and backend.model.dtype == torch.float32
    assert backend.processor.tokenizer.padding_side == "left"

    prompt = "Look at the image. Answer with one JSON object and nothing else."
    answers = backend.caption_batch(requests_, prompt, ["protest_march", "banner"])
    assert len(answers) == len(requests_) and all(isinstance(a, RawAnswer) for a in answers)

    # Input tokens: the chat-templated prompt plus one <image> token per CLIP patch (4x4) and CLS.
    text = backend.processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}],
        add_generation_prompt=True,
        tokenize=False,
    )
    assert text.startswith("USER: <image>\n") and text.endswith("ASSISTANT:")
    n_text = len(backend.processor.tokenizer(text.replace("<image>", ""), add_special_tokens=False)["input_ids"])
    for answer in answers:
        assert answer.input_tokens == n_text + 16 + 1
        assert 1 <= answer.output_tokens <= 12
        assert isinstance(answer.text, str) and answer.mode == "text"
        assert answer.extra["device"] == "cpu" and answer.extra["batch_size"] in (
            1,
            2,
        )  # batch_size 2: chunks 2 + 1
    assert sorted(a.extra["batch_size"] for a in answers) == [1, 2, 2]

    # Greedy decoding: the same answers again, and the same model object (loaded once per process).
    again = backend_for(tiny_vlm)
    assert again.model is backend.model
    repeat = again.caption_batch(requests_, prompt, ["protest_march", "banner"])
    assert [(a.text, a.output_tokens) for a in repeat] == [(a.text, a.output_tokens) for a in answers]

    # One image alone (the last chunk above was a batch of one too) gives the same answer.
    single = backend.caption(requests_[2], prompt, [])
    assert (single.text, single.input_tokens, single.output_tokens) == (
        answers[2].text,
        answers[2].input_tokens,
        answers[2].output_tokens,
    )

    # Only the new tokens are decoded: the prompt text never leaks into the answer.
    assert all("ASSISTANT" not in a.text and "Look at the image" not in a.text for a in answers)


def test_generic_caption_loop_with_the_local_model(tiny_vlm, requests_, tmp_path):
    """The real prompt through the real loop: one batched call, garbage marked invalid (never cached)."""
    from workbench_dagster.captioning.call_cache import CallCache
    from workbench_dagster.captioning.rows import ImageInput

    backend = backend_for(tiny_vlm)
    labels = ["protest_march", "banner"]
    names = {"protest_march": "protest march", "banner": "banner"}
    images = [ImageInput(r.image_id, r.batch, r.image_sha256, r.image_bytes) for r in requests_[:2]]
    images.append(ImageInput("img-missing", "b-vlm", None, None, "file vanished"))
    rows, n_called, stats = caption_rows(backend, images, CallCache(tmp_path / "cache"), labels, names)
    assert n_called == 2 and stats.model_calls == 1  # batch_size 2: both images in one generate()
    ok, missing = rows[:2], rows[2]
    assert missing["parse_status"] == "error" and missing["error"] == "file vanished"
    for row in ok:
        assert row["backend"] == "transformers" and row["model"] == "tiny-llava"
        assert row["parse_status"] == "invalid" and isinstance(row["raw_output"], str)
        assert row["input_tokens"] > 17 and 1 <= row["output_tokens"] <= 12 and row["cost_usd"] == 0.0
        assert set(row["labels"]) <= set(labels)


def test_a_bad_image_in_a_batch_fails_only_itself(tiny_vlm, requests_, tmp_path):
    from workbench_dagster.captioning.call_cache import CallCache
    from workbench_dagster.captioning.rows import ImageInput

    backend = backend_for(tiny_vlm)
    good = requests_[0]
    images = [
        ImageInput(good.image_id, good.batch, good.image_sha256, good.image_bytes),
        ImageInput("img-broken", "b-vlm", "0" * 64, b"\x89PNG not really"),
    ]
    cache = CallCache(tmp_path / "cache")
    rows, _, stats = caption_rows(
        backend, images, cache, ["banner"], {"banner": "banner"}, prompt="", prompt_version="t"
    )
    assert rows[0]["parse_status"] != "error"  # captioned alone after the batch failed
    assert rows[1]["parse_status"] == "error" and "img-broken" in rows[1]["error"]
    assert stats.model_calls == 3  # the failed batch, then one call per image


def test_cache_identity_names_model_and_decoding(tiny_vlm):
    greedy = backend_for(tiny_vlm, dtype="float32")
    identity = greedy.cache_identity()
    assert identity["model"] == tiny_vlm and identity["dtype"] == "float32" and identity["revision"] is None
    assert (
        identity["max_new_tokens"] == 12 and identity["do_sample"] is False and identity["load_in_4bit"] is False
    )
    sampled = backend_for(tiny_vlm, dtype="float32", temperature=0.7)
    assert sampled.cache_identity()["temperature"] == 0.7 and sampled.cache_identity()["do_sample"] is True
    assert sampled.cache_identity() != identity
    json.dumps(identity)  # goes into a cache key


def test_bad_image_is_a_backend_error_naming_it(tiny_vlm, requests_):
    backend = backend_for(tiny_vlm)
    broken = CaptionRequest("img-broken", "b-vlm", "0" * 64, b"\x89PNG not really")
    with pytest.raises(BackendError, match="img-broken"):
        backend.caption_batch([requests_[0], broken], "Describe.", [])


def test_unusable_configs_raise_backend_unavailable(tiny_vlm, tmp_path):
    from pydantic import ValidationError

    from workbench_dagster.scenario.config import ModelConfig

    with pytest.raises(BackendUnavailable, match="needs_gpu"):
        backend_for(tiny_vlm, needs_gpu=True)
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailable, match="load_in_4bit"):
            backend_for(tiny_vlm, load_in_4bit=True)
    with pytest.raises(BackendUnavailable, match="could not be loaded"):
        backend_for(str(tmp_path / "no-such-model"))
    with pytest.raises(ValidationError, match="needs `model`"):
        ModelConfig(id="vlm", backend="transformers")


@pytest.mark.gpu
def test_caption_batch_on_cuda_bfloat16(tiny_vlm, requests_):
    from workbench_dagster.device import pick_device

    device, dtype = pick_device("cuda", "bfloat16")
    backend = backend_for(tiny_vlm, device, dtype)
    assert backend.model.device.type == "cuda" and backend.model.dtype == torch.bfloat16
    answers = backend.caption_batch(requests_, "Describe the image as JSON.", [])
    repeat = backend.caption_batch(requests_, "Describe the image as JSON.", [])
    assert [a.text for a in answers] == [a.text for a in repeat]
    assert all(a.input_tokens > 17 and 1 <= a.output_tokens <= 12 for a in answers)
    assert backend.cache_identity()["dtype"] == "bfloat16"


@pytest.mark.gpu
def test_load_in_4bit_on_cuda(tiny_vlm, requests_):
    pytest.importorskip("bitsandbytes")
    pytest.importorskip("accelerate")
    from workbench_dagster.device import pick_device

    device, dtype = pick_device("cuda", "auto")
    backend = backend_for(tiny_vlm, device, dtype, load_in_4bit=True)
    assert getattr(backend.model, "is_loaded_in_4bit", False) or backend.model.config.quantization_config
    answers = backend.caption_batch(requests_[:2], "Describe the image as JSON.", [])
    assert len(answers) == 2 and all(1 <= a.output_tokens <= 12 for a in answers)
    assert backend.cache_identity()["load_in_4bit"] is True
