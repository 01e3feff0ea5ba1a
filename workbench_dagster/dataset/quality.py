"""Per-image quality: resolution, sharpness, brightness, contrast, colourfulness, and a perceptual hash
whose Hamming distances find near-duplicates within a batch and across batches.

Why these: a shared dataset is judged first by whether its pictures are sharp, exposed and varied
enough to learn from, and a near-duplicate counted twice inflates every score measured on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

QUALITY_COLUMNS = [
    "image_id",
    "batch",
    "sha256",
    "status",
    "error",
    "width",
    "height",
    "megapixels",
    "sharpness",
    "brightness",
    "contrast",
    "colourfulness",
    "phash",
    "n_near_duplicates",
    "nearest_image_id",
    "nearest_distance",
]
DUPLICATE_COLUMNS = ["image_a", "batch_a", "image_b", "batch_b", "distance", "scope"]
SCOPES = ["within_batch", "across_batches", "counterfactual_pair"]
HASH_BITS = 64  # imagehash.phash with hash_size=8


def image_metrics(image: Image.Image) -> dict:
    """The metrics of one decoded image. Grey levels and colour channels are on the 0-255 scale, as in
    the papers the measures come from; brightness and contrast are rescaled to [0, 1] for reading.

    - sharpness: variance of the 4-neighbour Laplacian of the grey image (Pech-Pacheco et al. 2000);
      blur removes high frequencies, so a blurred copy scores lower.
    - brightness: mean grey level / 255; contrast: RMS contrast, the grey levels' standard deviation / 255.
    - colourfulness: Hasler and Suesstrunk (2003), sigma_rgyb + 0.3 * mu_rgyb over the opponent
      channels rg = R - G and yb = (R + G) / 2 - B; 0 for a grey image.
    """
    import imagehash

    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    grey = np.asarray(image.convert("L"), dtype=np.float64)
    laplacian = (
        grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * grey[1:-1, 1:-1]
        if min(grey.shape) >= 3
        else np.zeros(1)
    )
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    sigma = float(np.sqrt(rg.std() ** 2 + yb.std() ** 2))
    mu = float(np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))
    return {
        "width": int(image.width),
        "height": int(image.height),
        "megapixels": image.width * image.height / 1e6,
        "sharpness": float(laplacian.var()),
        "brightness": float(grey.mean() / 255.0),
        "contrast": float(grey.std() / 255.0),
        "colourfulness": sigma + 0.3 * mu,
        "phash": str(imagehash.phash(image, hash_size=8)),
    }


def hash_ints(hashes: list[str]) -> np.ndarray:
    """Hex perceptual hashes as unsigned 64-bit integers."""
    return np.array([int(h, 16) for h in hashes], dtype=np.uint64)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit distances between every hash of `a` (rows) and of `b` (columns)."""
    xor = np.bitwise_xor(a[:, None], b[None, :])
    return _POPCOUNT[xor.view(np.uint8)].reshape(*xor.shape, 8).sum(axis=-1, dtype=np.int64)


def near_pairs(a: np.ndarray, b: np.ndarray, max_distance: int, same: bool, block: int = 512) -> np.ndarray:
    """(i, j, distance) rows of hash pairs at most `max_distance` bits apart, computed a block of rows at a
    time so memory stays at block x len(b). With `same` (a is b) each pair is listed once, i < j.

    Exact all-pairs comparison in numpy: 10^4 hashes take about a second; past 10^5 a multi-index hash
    (split the bits into max_distance + 1 chunks, compare only pairs sharing one) would be the next step.
    """
    found = []
    for start in range(0, len(a), block):
        d = hamming(a[start : start + block], b)
        i, j = np.nonzero(d <= max_distance)
        i_global = i + start
        keep = i_global < j if same else np.ones(len(i), dtype=bool)
        found.append(np.column_stack([i_global[keep], j[keep], d[i[keep], j[keep]]]))
    return np.concatenate(found) if found else np.zeros((0, 3), dtype=np.int64)


def construction_groups(prompts: pd.DataFrame) -> dict[str, str]:
    """image -> the image it was redrawn from, followed back to the first (a counterfactual redraw ->
    its batch's original -> the source batch's image). Such images look alike by construction: they are
    reported as `counterfactual_pair`, not as near-duplicates to warn about."""
    if not len(prompts) or "original_image_id" not in prompts.columns:
        return {}
    parent = {i: o for i, o in zip(prompts["image_id"], prompts["original_image_id"]) if isinstance(o, str) and o}

    def root(image_id: str) -> str:
        seen = set()
        while image_id in parent and image_id not in seen:
            seen.add(image_id)
            image_id = parent[image_id]
        return image_id

    return {i: root(i) for i in parent}


def _nearest(hashes: np.ndarray, groups: np.ndarray, max_distance: int, block: int = 512):
    """Per hash: the index of its nearest other hash, that distance, and how many others of another
    construction group lie within `max_distance`; a block of rows at a time, so a large batch never
    holds an n x n matrix."""
    nearest, distance, within = [], [], []
    for start in range(0, len(hashes), block):
        d = hamming(hashes[start : start + block], hashes).astype(float)
        rows = np.arange(d.shape[0])
        d[rows, rows + start] = np.inf  # not its own neighbour
        nearest.append(d.argmin(axis=1))
        distance.append(d.min(axis=1))
        siblings = groups[start : start + block, None] == groups[None, :]
        within.append(((d <= max_distance) & ~siblings).sum(axis=1))
    return np.concatenate(nearest), np.concatenate(distance), np.concatenate(within)


def _metric_row(row: dict, read) -> dict:
    from workbench_dagster.storage.media import decode_image

    base = {"image_id": row["image_id"], "batch": row["batch"], "sha256": row.get("sha256")}
    if row.get("status") != "ok":
        return {**base, "status": "failed", "error": row.get("error") or "image not generated"}
    try:
        image = decode_image(read(row["uri"]))
    except (ValueError, OSError) as exc:
        return {**base, "status": "failed", "error": f"{row['image_id']}: {exc}"}
    return {**base, "status": "ok", "error": None, **image_metrics(image)}


def image_quality(
    images: pd.DataFrame, read, max_distance: int, groups: dict[str, str] | None = None
) -> pd.DataFrame:
    """One row per image row of a batch (a failed image keeps its row, with its reason and no metrics),
    with each image's nearest other image of the batch and how many lie within `max_distance` bits,
    not counting its counterfactual siblings (`groups`, from construction_groups)."""
    rows = [_metric_row(row, read) for row in images.to_dict("records")]
    df = pd.DataFrame(rows, columns=QUALITY_COLUMNS)
    df["n_near_duplicates"] = 0
    df["nearest_image_id"] = df["nearest_image_id"].astype(object)
    ok = df.index[df["status"] == "ok"].to_numpy()
    if len(ok) >= 2:
        ids = df.loc[ok, "image_id"].tolist()
        codes, _ = pd.factorize(pd.Series([(groups or {}).get(i, i) for i in ids]))
        nearest, distance, within = _nearest(hash_ints(df.loc[ok, "phash"].tolist()), codes, max_distance)
        df.loc[ok, "nearest_image_id"] = df.loc[ok[nearest], "image_id"].to_numpy()
        df.loc[ok, "nearest_distance"] = distance
        df.loc[ok, "n_near_duplicates"] = within
    df["n_near_duplicates"] = df["n_near_duplicates"].astype("int64")
    for column in ("width", "height"):  # a failed image has none: nullable, so the warehouse's BIGINT holds
        df[column] = pd.to_numeric(df[column]).astype("Int64")
    df["nearest_distance"] = pd.to_numeric(df["nearest_distance"], errors="coerce").astype("float64")
    return df


def near_duplicates(
    quality: pd.DataFrame, max_distance: int, groups: dict[str, str] | None = None
) -> pd.DataFrame:
    """Every pair of images at most `max_distance` bits apart, within a batch and across batches, each
    pair once (image_a sorts before image_b), with `scope` saying which; a pair drawn alike on purpose
    (an image and its counterfactual redraw, `groups`) is `counterfactual_pair`."""
    ok = quality[(quality["status"] == "ok") & quality["phash"].notna()].sort_values("image_id")
    ok = ok.reset_index(drop=True)
    hashes = hash_ints(ok["phash"].tolist())
    pairs = near_pairs(hashes, hashes, max_distance, same=True)
    a, b = ok.iloc[pairs[:, 0]].reset_index(drop=True), ok.iloc[pairs[:, 1]].reset_index(drop=True)
    df = pd.DataFrame(
        {
            "image_a": a["image_id"],
            "batch_a": a["batch"],
            "image_b": b["image_id"],
            "batch_b": b["batch"],
            "distance": pairs[:, 2].astype("int64"),
        }
    )
    df["scope"] = np.where(df["batch_a"] == df["batch_b"], "within_batch", "across_batches")
    groups = groups or {}
    siblings = [groups.get(a, a) == groups.get(b, b) for a, b in zip(df["image_a"], df["image_b"])]
    df.loc[np.array(siblings, dtype=bool), "scope"] = "counterfactual_pair"
    return df[DUPLICATE_COLUMNS].sort_values(["distance", "image_a", "image_b"]).reset_index(drop=True)


def summary(quality: pd.DataFrame) -> dict:
    """Median, 5th and 95th percentile of each metric over the batch's decodable images, for metadata."""
    ok = quality[quality["status"] == "ok"]
    out = {}
    for column in ("sharpness", "brightness", "contrast", "colourfulness"):
        values = ok[column].astype(float)
        if len(values):
            out[column] = {
                "p05": round(float(values.quantile(0.05)), 4),
                "median": round(float(values.median()), 4),
                "p95": round(float(values.quantile(0.95)), 4),
            }
    return out
