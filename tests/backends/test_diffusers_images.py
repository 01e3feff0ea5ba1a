"""The diffusers image backend, on a tiny random Stable Diffusion pipeline built offline.

UNet, VAE, CLIP text encoder and a byte-level BPE tokenizer are built from configs and saved
with save_pretrained into a temporary folder, then loaded back through the backend's real
loading code (AutoPipelineForText2Image) by local path. Skipped when the `diffusers` extra is
not installed.
"""

from __future__ import annotations

import io

import pytest
import torch

from tests.helpers import byte_level_tokenizer

pytest.importorskip("diffusers")


def build_tiny_sd(folder) -> str:
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = byte_level_tokenizer(
        ["a crowd marches with banners at night in Atropia"] * 3,
        300,
        ["<|startoftext|>", "<|endoftext|>"],
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        model_max_length=16,
    )
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=2,
    )
    vae = AutoencoderKL(
        block_out_channels=[4, 8],
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        norm_num_groups=2,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=16,
        )
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=EulerDiscreteScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory) -> str:
    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd"))


def test_generates_png_deterministically_per_seed(tiny_sd):
    from PIL import Image

    from workbench_dagster.backends.diffusers_images import DiffusersImageBackend

    backend = DiffusersImageBackend(tiny_sd, device="cpu", dtype=torch.float32, steps=2, width=32, height=32)
    assert type(backend.pipeline).__name__ == "StableDiffusionPipeline"  # chosen by AutoPipelineForText2Image
    first = backend.generate("a crowd marches at night", seed=3)
    second = backend.generate("a crowd marches with banners", seed=4)
    image = Image.open(io.BytesIO(first))
    assert image.format == "PNG" and image.size == (32, 32) and image.mode == "RGB"
    assert backend.generate("a crowd marches at night", seed=3) == first  # same prompt and seed: same bytes
    assert second != first
    assert backend.generate("a crowd marches at night", seed=5) != first  # the seed matters
    identity = backend.cache_identity()
    assert identity["model"] == tiny_sd and identity["steps"] == 2 and identity["dtype"] == "float32"


def test_make_images_with_diffusers_backend_and_cache(tiny_sd, tmp_path):
    from tests.helpers import write_config
    from workbench_dagster.captioning.call_cache import CallCache
    from workbench_dagster.generation.images import make_images
    from workbench_dagster.scenario.batches import batch_prompts
    from workbench_dagster.scenario.config import load_config
    from workbench_dagster.storage.image_store import ImageStore

    path = write_config(
        tmp_path,
        batches=[{"id": "train", "n_images": 2}],
        images={"backend": "diffusers", "model": tiny_sd, "steps": 1, "width": 64, "height": 64},
    )
    config = load_config(path)
    prompts = batch_prompts(config, "train")
    assert set(prompts["source"]) == {"diffusers"}
    store, cache = ImageStore(config.image_store_uri), CallCache(config.cache_dir)
    df, generated = make_images(config, prompts, store, cache, device="cpu", dtype=torch.float32)
    assert generated == 2 and list(df["status"]) == ["ok", "ok"] and set(df["width"]) == {64}
    again, generated_again = make_images(config, prompts, store, cache, device="cpu", dtype=torch.float32)
    assert generated_again == 0 and list(again["sha256"]) == list(df["sha256"])


def test_unloadable_pipeline_is_backend_unavailable(tmp_path):
    from pydantic import ValidationError

    from workbench_dagster.backends.base import BackendUnavailable
    from workbench_dagster.backends.diffusers_images import DiffusersImageBackend
    from workbench_dagster.scenario.config import ImagesConfig

    with pytest.raises(BackendUnavailable, match="could not be loaded"):
        DiffusersImageBackend(str(tmp_path / "missing"), device="cpu", dtype=torch.float32)
    with pytest.raises(ValidationError, match="needs `model`"):
        ImagesConfig(backend="diffusers")


@pytest.mark.gpu
def test_generates_on_cuda_in_half_precision(tiny_sd):
    from workbench_dagster.backends.diffusers_images import DiffusersImageBackend
    from workbench_dagster.device import pick_device

    device, dtype = pick_device("cuda", "auto")
    backend = DiffusersImageBackend(tiny_sd, device=device, dtype=dtype, steps=2, width=32, height=32)
    assert backend.pipeline.unet.device.type == "cuda" and backend.pipeline.unet.dtype == dtype
    first = backend.generate("a crowd marches at night", seed=3)
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and backend.generate("a crowd marches at night", seed=3) == first


def test_synthetic_images_asset_generates_with_diffusers(tiny_sd, tmp_path):
    """The Dagster asset passes the GPU resource's device and dtype through to the pipeline."""
    import dagster as dg

    from tests.helpers import write_config
    from workbench_dagster.definitions import build_definitions
    from workbench_dagster.scenario.config import load_config

    config = load_config(
        write_config(
            tmp_path,
            batches=[{"id": "train", "n_images": 2}],
            gpu={"device": "cpu", "dtype": "float32"},
            images={"backend": "diffusers", "model": tiny_sd, "steps": 1, "width": 64, "height": 64},
        )
    )
    defs = build_definitions(config)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("prompt_batches", ["train"])
    result = dg.materialize(
        defs.assets,
        selection=["prompts", "synthetic_images"],
        partition_key="train",
        resources=defs.resources,
        instance=instance,
    )
    assert result.success
    images = result.output_for_node("synthetic_images")
    assert list(images["status"]) == ["ok", "ok"] and set(images["source"]) == {"diffusers"}
    assert set(images["width"]) == {64}
    instance.dispose()
