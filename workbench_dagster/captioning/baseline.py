"""The offline `baseline` caption model: a small multi-label CNN trained on reference labels.

It exists so the whole graph runs with no network, no keys and no GPU, and so every
multimodal LLM has a floor to beat that was trained on the very same ground truth.
Training is seeded and deterministic on CPU, and a fingerprint of its inputs lets the
caller reuse a saved checkpoint instead of retraining on every run.
"""

from __future__ import annotations

import hashlib
import io
import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from upath import UPath

from workbench_dagster.backends.params import BaselineParams
from workbench_dagster.captioning.baseline_recipe import RECIPE_VERSION
from workbench_dagster.storage.atomic import write_bytes_atomic

_MEAN, _STD = 0.5, 0.25
_POS_WEIGHT_RANGE = (1.0, 10.0)
_INFER_BATCH = 128


def _block(c_in: int, c_out: int) -> nn.Sequential:
    """Pooling before batch-norm and ReLU, so they touch a quarter of the pixels: on two CPU cores
    these memory-bound layers cost as much as the convolutions. Max-pool commutes with ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class _Net(nn.Module):
    def __init__(self, channels: int, n_labels: int):
        super().__init__()
        widths = [channels, 2 * channels, 4 * channels, 4 * channels]
        blocks, c_in = [], 3
        for width in widths:
            blocks.append(_block(c_in, width))
            c_in = width
        self.body = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(c_in, n_labels)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def preprocess(images: list[Image.Image], image_size: int) -> torch.Tensor:
    """Squash to a square on purpose: layouts differ in shape cues, not in fine aspect detail."""
    if not images:
        return torch.zeros((0, 3, image_size, image_size))
    arrays = [
        np.asarray(img.convert("RGB").resize((image_size, image_size), Image.Resampling.BILINEAR), dtype=np.uint8)
        for img in images
    ]
    # Channels-last is how the pixels already lie, and the fast layout for oneDNN convolutions.
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)
    return ((x - _MEAN) / _STD).contiguous(memory_format=torch.channels_last)


def _label_matrix(labels: list[list[str]], taxonomy: list[str]) -> torch.Tensor:
    index = {label: i for i, label in enumerate(taxonomy)}
    y = torch.zeros((len(labels), len(taxonomy)))
    for row, names in enumerate(labels):
        for name in names:
            if name not in index:
                raise ValueError(f"label {name!r} is not in the taxonomy {taxonomy}")
            y[row, index[name]] = 1.0
    return y


def _pos_weight(y: torch.Tensor) -> torch.Tensor:
    """Up-weights rare labels so a handful of cartoons still move the loss; clamped so none dominates."""
    pos = y.sum(dim=0)
    neg = y.shape[0] - pos
    return (neg / pos.clamp(min=1.0)).clamp(*_POS_WEIGHT_RANGE)


class BaselineModel:
    def __init__(
        self,
        net: _Net,
        taxonomy: list[str],
        params: BaselineParams,
        image_size: int,
        device: str,
        fingerprint: str = "",
        history: list[float] | None = None,
    ):
        self.net = net.to(device, memory_format=torch.channels_last).eval()
        self.taxonomy = list(taxonomy)
        self.params = params
        self.image_size = image_size
        self.device = device
        self.fingerprint = fingerprint
        self.history = list(history or [])

    @torch.no_grad()
    def _run(self, images: list[Image.Image], features: bool) -> np.ndarray:
        self.net.eval()
        width = self.net.head.in_features if features else len(self.taxonomy)
        out = [np.zeros((0, width), dtype=np.float32)]
        for start in range(0, len(images), _INFER_BATCH):
            x = preprocess(images[start : start + _INFER_BATCH], self.image_size).to(self.device)
            y = self.net.features(x) if features else torch.sigmoid(self.net(x))
            out.append(y.float().cpu().numpy())
        return np.concatenate(out)

    def predict_proba(self, images: list[Image.Image]) -> np.ndarray:
        return self._run(images, features=False)

    def predict_labels(self, images: list[Image.Image], threshold: float = 0.5) -> list[list[str]]:
        proba = self.predict_proba(images)
        return [[label for label, p in zip(self.taxonomy, row) if p >= threshold] for row in proba]

    def features(self, images: list[Image.Image]) -> np.ndarray:
        """The pooled penultimate layer: what the classifier sees, reused as an image embedding."""
        return self._run(images, features=True)

    def save(self, path: str | Path) -> None:
        """Written whole or not at all, to a local folder or an object store (one PUT)."""
        buffer = io.BytesIO()
        state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
        torch.save(
            {
                "state_dict": state,
                "taxonomy": self.taxonomy,
                "params": self.params.model_dump(),
                "image_size": self.image_size,
                "fingerprint": self.fingerprint,
                "history": self.history,
                "recipe_version": RECIPE_VERSION,
            },
            buffer,
        )
        write_bytes_atomic(UPath(path), buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> BaselineModel:
        blob = torch.load(io.BytesIO(UPath(path).read_bytes()), map_location=device, weights_only=True)
        params = BaselineParams.from_dict(blob["params"])
        net = _Net(params.channels, len(blob["taxonomy"]))
        net.load_state_dict(blob["state_dict"])
        return cls(net, blob["taxonomy"], params, blob["image_size"], device, blob["fingerprint"], blob["history"])


def training_fingerprint(
    image_sha256s: list[str],
    labels: list[list[str]],
    taxonomy: list[str],
    params: dict,
    image_size: int,
    seed: int,
) -> str:
    """Defaults are filled in first, so `{}` and the spelled-out defaults share one checkpoint."""
    payload = {
        "recipe_version": RECIPE_VERSION,
        "images": list(image_sha256s),
        "labels": [list(x) for x in labels],
        "taxonomy": list(taxonomy),
        "params": BaselineParams.from_dict(params).model_dump(),
        "image_size": image_size,
        "seed": seed,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@contextmanager
def _deterministic():
    """Deterministic kernels, minus the NaN-filling of fresh tensors that comes with them by
    default: that fill alone took a fifth of CPU training time and guards nothing here.
    The caller's settings come back afterwards."""
    was_on, was_warn = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    was_fill = torch.utils.deterministic.fill_uninitialized_memory
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.utils.deterministic.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_on, warn_only=was_warn)
        torch.utils.deterministic.fill_uninitialized_memory = was_fill


def train_baseline(
    images: list[Image.Image],
    labels: list[list[str]],
    taxonomy: list[str],
    params: dict,
    image_size: int,
    device: str,
    seed: int,
    fingerprint: str | None = None,
) -> BaselineModel:
    """`fingerprint` should be the caller's `training_fingerprint`; without one, a fingerprint of
    the decoded pixels stands in, so caches keyed on it never confuse two differently trained models."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} label lists")
    if not images:
        raise ValueError("cannot train the baseline on zero images")
    p = BaselineParams.from_dict(params)
    if fingerprint is None:
        pixels = [
            hashlib.sha256(img.convert("RGB").tobytes() + repr(img.size).encode()).hexdigest() for img in images
        ]
        fingerprint = training_fingerprint(pixels, labels, taxonomy, params, image_size, seed)
    x_all = preprocess(images, image_size).to(device)
    y_all = _label_matrix(labels, taxonomy).to(device)
    generator = torch.Generator().manual_seed(seed)
    # fork_rng hands the caller its RNG state back, although init and dropout draw from it.
    cuda = [torch.device(device).index or 0] if str(device).startswith("cuda") else []
    with torch.random.fork_rng(devices=cuda), _deterministic():
        torch.manual_seed(seed)
        net = _Net(p.channels, len(taxonomy)).to(device, memory_format=torch.channels_last)
        history = _fit(net, x_all, y_all, p, generator)
    return BaselineModel(net, taxonomy, p, image_size, device, fingerprint, history)


def _fit(
    net: _Net, x_all: torch.Tensor, y_all: torch.Tensor, p: BaselineParams, generator: torch.Generator
) -> list[float]:
    n = x_all.shape[0]
    steps_per_epoch = -(-n // p.batch_size)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=_pos_weight(y_all))
    optimizer = torch.optim.AdamW(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=p.lr, total_steps=p.epochs * steps_per_epoch, pct_start=0.2
    )
    history = []
    net.train()
    for _ in range(p.epochs):
        order = torch.randperm(n, generator=generator).to(x_all.device)
        flips = (torch.rand(n, generator=generator) < 0.5).to(x_all.device)
        total = 0.0
        for start in range(0, n, p.batch_size):
            idx = order[start : start + p.batch_size]
            x = x_all[idx]
            x = torch.where(flips[idx, None, None, None], x.flip(-1), x)
            loss = loss_fn(net(x), y_all[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
        history.append(total / n)
    net.eval()
    return history


def template_caption(labels: list[str], label_names: dict[str, str]) -> str:
    names = [label_names.get(label, label) for label in labels]
    if not names:
        return "An image with no recognised scene elements."
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"An image showing {listed}."
