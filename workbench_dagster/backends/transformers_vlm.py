"""Local Hugging Face vision-language models (Qwen2-VL, LLaVA, Idefics3, ...) as a caption backend.

The model is loaded by hub id or local folder with `AutoProcessor` and
`AutoModelForImageTextToText`, on the device and dtype the GPU resource chose, once per
process. Prompts go through the processor's own chat template (image first, then the text),
generation is batched with left padding, and only the new tokens are decoded. The backend
never parses: the text goes into a RawAnswer and the generic loop parses it.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from typing import Any

import torch

from workbench_dagster.backends import local_models
from workbench_dagster.backends.base import BackendError, BackendUnavailable, CaptionRequest, RawAnswer

PROMPT_FORMAT = "chat-template-v1"

_LOADED = local_models.LoadedModels()
_GENERATE_LOCK = threading.Lock()  # one generate at a time per process: the model is shared


def default_prompt(labels: list[str]) -> str:
    """Used only when the caller passes no prompt text."""
    return (
        "Look at the image. Answer with one JSON object and nothing else: "
        '{"labels": [...], "caption": "..."}. `labels` lists every label that applies, chosen only from: '
        + ", ".join(labels)
        + ". `caption` is one or two sentences describing the image."
    )


def check_4bit(device: str) -> None:
    """4-bit loading needs bitsandbytes, accelerate and a CUDA GPU; say which one is missing."""
    missing = [name for name in ("bitsandbytes", "accelerate") if importlib.util.find_spec(name) is None]
    if missing:
        raise BackendUnavailable(
            f"load_in_4bit: true needs {' and '.join(missing)} (pip install bitsandbytes accelerate) "
            "and a CUDA GPU; install them, or set load_in_4bit: false"
        )
    if not str(device).startswith("cuda") or not torch.cuda.is_available():
        raise BackendUnavailable(
            f"load_in_4bit: true needs a CUDA GPU, but the GPU resource chose {device!r}; "
            "run on a GPU machine or set load_in_4bit: false"
        )


def _matching_torchvision() -> str:
    """torchvision 0.(minor+15).* pairs with torch 2.minor (2.13 -> 0.28); another one would replace torch."""
    major, minor = (int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
    return f"0.{minor + 15}.*" if major == 2 else "<the release matching your torch>"


def load_vlm(
    model: str, *, revision: str | None, device: str, dtype: torch.dtype, load_in_4bit: bool = False
) -> tuple[Any, Any]:
    """(processor, model), loaded once per process per (model, revision, device, dtype, quantisation)."""
    key = (model, revision, str(device), local_models.dtype_name(dtype), bool(load_in_4bit))
    return _LOADED.get(key, lambda: _load_vlm(model, revision, device, dtype, bool(load_in_4bit)))


def _load_vlm(model: str, revision: str | None, device: str, dtype: torch.dtype, load_in_4bit: bool):
    if load_in_4bit:
        check_4bit(device)
    from transformers import AutoModelForImageTextToText, AutoProcessor

    local_models.quiet_progress_bars()
    kwargs = local_models.revision_kwargs(revision)
    try:
        processor = AutoProcessor.from_pretrained(model, **kwargs)
        if load_in_4bit:
            from transformers import BitsAndBytesConfig

            quantization = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype
            )
            net = AutoModelForImageTextToText.from_pretrained(
                model, dtype=dtype, quantization_config=quantization, device_map={"": device}, **kwargs
            )
        else:
            net = AutoModelForImageTextToText.from_pretrained(model, dtype=dtype, **kwargs).to(device)
    except Exception as exc:  # missing files, unknown architecture, a processor needing a missing package
        extra = ""
        if importlib.util.find_spec("torchvision") is None:
            extra = (
                "; some processors (Qwen2-VL's video processor, fast image processors) also need torchvision: "
                f"pip install 'torchvision=={_matching_torchvision()}'"
            )
        raise local_models.load_failure(
            "transformers",
            model,
            revision,
            exc,
            setting="`model`",
            holding="the model and its processor",
            extra=extra,
        ) from exc
    net.eval()
    tokenizer = getattr(processor, "tokenizer", None)
    if (
        tokenizer is None
        or getattr(processor, "chat_template", None) is None
        and getattr(tokenizer, "chat_template", None) is None
    ):
        raise BackendUnavailable(
            f"transformers model {model!r} has a processor without a tokenizer or chat template; "
            "use an instruction-tuned (chat) checkpoint"
        )
    tokenizer.padding_side = "left"  # decoder-only generation continues from the right edge
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return processor, net


class TransformersVLMBackend(local_models.LocalModel):
    """CaptionBackend and BatchedCaptionBackend over a local image-text-to-text model."""

    backend = "transformers"

    def __init__(
        self,
        model_id: str,
        model: str,
        *,
        device: str = "cpu",
        dtype: torch.dtype | str = torch.float32,
        revision: str | None = None,
        load_in_4bit: bool = False,
        max_new_tokens: int = 256,
        temperature: float | None = None,
        batch_size: int = 4,
        needs_gpu: bool = False,
    ):
        if needs_gpu and not str(device).startswith("cuda"):
            raise BackendUnavailable(
                f"model {model_id!r} has needs_gpu: true but the GPU resource chose {device!r}; "
                "run on a machine with a CUDA GPU (gpu.device: auto or cuda), or set needs_gpu: false"
            )
        self.model_id = model_id
        self._place(model, revision, device, dtype)
        self.load_in_4bit = load_in_4bit
        self.max_new_tokens = int(max_new_tokens)
        self.temperature = float(temperature) if temperature else None
        self.batch_size = int(batch_size)
        self.processor, self.model = load_vlm(
            model, revision=revision, device=self.device, dtype=self.dtype, load_in_4bit=load_in_4bit
        )

    @classmethod
    def from_config(
        cls, model_config, device: str = "cpu", dtype: torch.dtype | str = torch.float32
    ) -> TransformersVLMBackend:
        return cls(
            model_config.id,
            model_config.model,
            device=device,
            dtype=dtype,
            revision=model_config.revision,
            load_in_4bit=model_config.load_in_4bit,
            max_new_tokens=model_config.max_output_tokens,
            temperature=model_config.temperature,
            batch_size=model_config.batch_size,
            needs_gpu=model_config.needs_gpu,
        )

    def generation_params(self) -> dict:
        params: dict = {"max_new_tokens": self.max_new_tokens, "do_sample": self.temperature is not None}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        return params

    def cache_identity(self) -> dict:
        return {
            **self.weights_identity(),
            "load_in_4bit": self.load_in_4bit,
            "prompt_format": PROMPT_FORMAT,
            **self.generation_params(),
        }

    def caption(self, request: CaptionRequest, prompt: str, labels: list[str]) -> RawAnswer:
        return self.caption_batch([request], prompt, labels)[0]

    def caption_batch(self, requests: list[CaptionRequest], prompt: str, labels: list[str]) -> list[RawAnswer]:
        """Answers in request order. An undecodable image fails the call with its id in the reason
        (BackendError, not retryable); the caller can retry the others one by one."""
        from workbench_dagster.storage.media import decode_image

        images = []
        for request in requests:
            try:
                images.append(decode_image(request.image_bytes).convert("RGB"))
            except ValueError as exc:
                raise BackendError(f"{request.image_id}: {exc}") from exc
        text = self._chat_text(prompt or default_prompt(labels))
        answers: list[RawAnswer] = []
        for start in range(0, len(images), self.batch_size):
            answers.extend(self._generate(images[start : start + self.batch_size], text))
        return answers

    def _chat_text(self, prompt: str) -> str:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        return self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def _generate(self, images: list, text: str) -> list[RawAnswer]:
        tokenizer = self.processor.tokenizer
        inputs = self.processor(images=images, text=[text] * len(images), padding=True, return_tensors="pt")
        inputs = inputs.to(self.device)
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        params = self.generation_params()
        started = time.perf_counter()
        try:
            with _GENERATE_LOCK, torch.inference_mode():
                output = self.model.generate(**inputs, **params, pad_token_id=tokenizer.pad_token_id)
        except torch.cuda.OutOfMemoryError as exc:
            raise BackendError(
                f"CUDA out of memory with batch of {len(images)}; lower batch_size", retryable=False
            ) from exc
        per_image_ms = (time.perf_counter() - started) * 1000 / len(images)
        prompt_length = inputs["input_ids"].shape[1]
        new_tokens = output[:, prompt_length:].cpu()
        input_counts = inputs["attention_mask"].sum(dim=1).tolist()
        eos_ids = self._eos_ids()
        answers = []
        for row, n_input in zip(new_tokens.tolist(), input_counts):
            length = len(row)
            for i, token in enumerate(row):
                if token in eos_ids:
                    length = i + 1
                    break
            answers.append(
                RawAnswer(
                    text=tokenizer.decode(row[:length], skip_special_tokens=True).strip(),
                    input_tokens=int(n_input),
                    output_tokens=length,
                    mode="text",
                    extra={"device": self.device, "batch_size": len(images), "latency_ms": per_image_ms},
                )
            )
        return answers

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        for source in (getattr(self.model, "generation_config", None), self.processor.tokenizer):
            value = getattr(source, "eos_token_id", None)
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, (list, tuple)):
                ids.update(int(v) for v in value)
        return ids


def caption_backend(model_config, *, device: str, dtype) -> TransformersVLMBackend:
    return TransformersVLMBackend.from_config(model_config, device=device, dtype=dtype)
