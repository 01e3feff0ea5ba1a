"""`ai_image_detector`: a small CNN the pipeline trains to score each image for being generated.

It learns from the images whose provenance is known (image_provenance's `ground_truth`: `generated`
for what declares itself generated, `camera` for what declares a capture), and scores every image,
including those that say nothing (provenance `none`): those are what a detector is for. It is meant
for users who land real posts next to the Workbench's own images. The Workbench's demo has no camera
images (no real photos exist offline), so there it is not trained and says so; the tests plant a
second image family labelled as camera to show it learns and is evaluated.

It looks at native-resolution crops, never a resized image: resampling erases the pixel statistics
(sensor noise, flat synthetic fills) that tell the two apart. Training is seeded and deterministic on
CPU; a checkpoint is keyed by a fingerprint of its training images, labels and settings, so an
unchanged corpus reuses it. Held-out images (a fixed fraction of the labelled ones, chosen by their
sha256, so the split never depends on the order rows arrive in) are never trained on: the evaluation
(`evaluate.py`) scores those alone.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from workbench_dagster.provenance.detector_recipe import RECIPE_VERSION

LABELS = {"generated": 1, "camera": 0}
_OFFSETS = ((0.5, 0.5), (0.2, 0.2), (0.8, 0.2), (0.2, 0.8), (0.8, 0.8))  # crop centres, as fractions


def split_of(sha256: str, heldout_fraction: float) -> str:
    """`heldout` or `train`, fixed by the image's bytes."""
    return "heldout" if int(sha256[:8], 16) / 0x1_0000_0000 < heldout_fraction else "train"


def crops(image: Image.Image, side: int, centres=_OFFSETS) -> np.ndarray:
    """(len(centres), 3, side, side) uint8 crops at native resolution; small images are padded by
    edge replication, never resampled."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    h, w = pixels.shape[:2]
    if h < side or w < side:
        pixels = np.pad(pixels, ((0, max(0, side - h)), (0, max(0, side - w)), (0, 0)), mode="edge")
        h, w = pixels.shape[:2]
    out = []
    for fx, fy in centres:
        x = min(max(0, round(fx * w - side / 2)), w - side)
        y = min(max(0, round(fy * h - side / 2)), h - side)
        out.append(pixels[y : y + side, x : x + side].transpose(2, 0, 1))
    return np.stack(out)


@contextmanager
def _one_thread():
    """One intra-op thread: for a model this small, more threads cost more in handoffs than they win,
    three times over on a loaded two-core machine. The caller's setting comes back afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Net(nn.Module):
    """Two small convolutions, then mean and max pooling: texture statistics, not layout."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.body = nn.Sequential(  # strided from the first layer: a 3x3 window still sees pixel noise
            nn.Conv2d(3, width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Linear(4 * width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.body((x.float() - 128.0) / 64.0)
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        return self.head(pooled).squeeze(1)


def fingerprint(sha256s: list[str], labels: list[int], params: dict, seed: int) -> str:
    payload = {"recipe": RECIPE_VERSION, "images": sha256s, "labels": labels, "params": params, "seed": seed}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class Detector:
    def __init__(self, net: _Net, crop: int, fingerprint: str, history: list[float]):
        self.net = net.eval()
        self.crop = crop
        self.fingerprint = fingerprint
        self.history = history

    @torch.no_grad()
    def score(self, images: list[Image.Image]) -> np.ndarray:
        """P(generated) per image: the mean over five crops."""
        if not images:
            return np.zeros(0)
        x = torch.from_numpy(np.concatenate([crops(im, self.crop) for im in images]))
        with _one_thread():
            p = torch.sigmoid(self.net(x)).reshape(len(images), len(_OFFSETS)).mean(dim=1)
        return p.numpy().astype(float)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = {"state": self.net.state_dict(), "crop": self.crop, "fingerprint": self.fingerprint}
        tmp = path.with_suffix(".tmp")
        torch.save({**blob, "history": self.history, "recipe": RECIPE_VERSION}, tmp)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Detector:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        net = _Net()
        net.load_state_dict(blob["state"])
        return cls(net, blob["crop"], blob["fingerprint"], list(blob["history"]))


def _training_crops(images: list[Image.Image], side: int, rng: np.random.Generator) -> np.ndarray:
    """Five fixed crops and one random one per image."""
    out = []
    for image in images:
        centres = [*_OFFSETS, *map(tuple, rng.uniform(0.15, 0.85, size=(1, 2)))]
        out.append(crops(image, side, centres))
    return np.stack(out)  # (n, 6, 3, side, side)


def train(images: list[Image.Image], labels: list[int], crop: int, epochs: int, seed: int, fp: str) -> Detector:
    """Class-balanced logistic loss, Adam, fixed seeds: the same inputs give the same weights."""
    if len(set(labels)) < 2:
        raise ValueError("the detector needs images of both kinds (generated and camera) to train")
    rng = np.random.default_rng(seed)
    per_image = _training_crops(images, crop, rng)
    x = torch.from_numpy(per_image.reshape(-1, 3, crop, crop))
    y = torch.tensor(np.repeat(labels, per_image.shape[1]), dtype=torch.float32)
    positives = float(y.sum())
    pos_weight = torch.tensor((len(y) - positives) / max(positives, 1.0))
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(), _one_thread():
        torch.manual_seed(seed)
        net = _Net()
        optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
        loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        history = []
        for _ in range(epochs):
            order, total = torch.randperm(len(y), generator=generator), 0.0
            for start in range(0, len(y), 64):
                idx = order[start : start + 64]
                batch = x[idx]
                batch = torch.where(
                    torch.rand(len(idx), 1, 1, 1, generator=generator) < 0.5, batch.flip(-1), batch
                )
                loss = loss_fn(net(batch), y[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
            history.append(total / len(y))
    return Detector(net, crop, fp, history)
