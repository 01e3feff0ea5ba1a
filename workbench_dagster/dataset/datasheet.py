"""The datasheet of an export (after Gebru et al., "Datasheets for Datasets"): what the data is, how it
was made (scenario, generators, seeds), what it should not be trusted for (the painter's known
shortcuts), its quality and balance, and its license. Also the dataset card (README.md) whose YAML
header tells `datasets` how to load the folder.
"""

from __future__ import annotations

import pandas as pd

from workbench_dagster.scenario.config import WorkbenchConfig

LICENSE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "Apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "MIT": "https://opensource.org/license/mit",
}
# What the procedural painter gives away besides the concept a label names (generation/procedural.py,
# elements.py): a model can score well on these images by learning these, and then fail on photos.
PAINTER_SHORTCUTS = [
    "Each scene type has its own layout (crowd, portrait, flyer, cartoon, monument): the silhouette of "
    "the layout alone tells most scene labels apart (a flyer is a full-bleed palette colour with a "
    "border and lettering, a cartoon has flat fills and thick black outlines).",
    "Shapes are big and colours bold on purpose, so a 64x64 baseline can read them: the images are not "
    "photorealistic, and textures, faces and depth are absent.",
    "Night is a dark blue sky with the moon, stars, glowing lamps and lit windows, and the scene is "
    "dimmed: brightness alone gives the time of day away (flyers ignore the time of day).",
    "The movement's colours (scenario `movement.colors`) fill flyer backgrounds and scarves; the "
    "palette correlates with the movement, not with any label.",
    "`small_group` follows the number of figures drawn (the crowd size's range), so counting blobs is enough.",
    "Flyers of one language with the same heading and slogan differ only in colour and small print: "
    "their perceptual hashes lie 2 to 4 of 64 bits apart, so some pairs are listed as near-duplicates.",
    "Depicted people's skin tones are drawn uniformly from five tones per figure and are not recorded "
    "in the spec; gender and age group are declared by the scenario but not drawn.",
    "Removed: the flyer's language motif (a planted shortcut) is gone; flyers of two languages differ "
    "only in their words, so a model must read to tell `flyer_es` from `flyer_en`.",
]


def license_url(spdx: str) -> str:
    return LICENSE_URLS.get(spdx, spdx)


def _generators(config: WorkbenchConfig) -> list[str]:
    images = config.images
    if images.backend == "procedural":
        from workbench_dagster.generation.procedural import RENDERER_VERSION

        image_line = f"the offline procedural painter ({RENDERER_VERSION}), {images.width}x{images.height} PNG"
    else:
        image_line = f"`{images.backend}` model `{images.model}`, {images.width}x{images.height}"
    comments = config.comments
    comment_line = (
        "the offline template grammar of the scenario file"
        if comments.backend == "template"
        else f"`{comments.backend}` model `{comments.model}`"
    )
    models = ", ".join(
        f"`{m.id}` ({m.backend}{', ' + m.model if m.model else ''}{', ' + str(m.params) if m.params else ''})"
        for m in config.models
    )
    return [
        f"- **Images:** {image_line}.",
        f"- **Comments:** {comment_line}, {comments.per_image} per image.",
        f"- **Captions and labels:** {models}. The baselines are small CNNs the pipeline trains on the "
        f"reference labels of batch `{config.baseline.train_batch}`: their labels on that batch are "
        "not a held-out result (`is_training_batch`).",
    ]


def _table(df: pd.DataFrame) -> str:
    """A markdown table; a missing value (an attribute not recorded) shows as a blank cell."""
    return df.astype(object).where(df.notna(), "").to_markdown(index=False) if len(df) else "_none_"


def datasheet(
    config: WorkbenchConfig,
    manifest: pd.DataFrame,
    balance: pd.DataFrame,
    quality: dict,
    n_duplicate_pairs: int,
    provenance_note: str,
) -> str:
    """The datasheet markdown. `balance`: the per-attribute summary over the exported images;
    `quality`: metric -> {p05, median, p95}."""
    scenario = config.scenario_data
    cfg = config.dataset
    included = manifest[manifest["included"]]
    excluded = manifest[~manifest["included"]]
    per_batch = included.groupby("batch").size().rename("images").reset_index()
    reasons = excluded.groupby("reason").size().rename("images").reset_index()
    q = pd.DataFrame([{"metric": k, **v} for k, v in quality.items()])
    shortcuts = PAINTER_SHORTCUTS if config.images.backend == "procedural" else []
    lines = [
        f"# Datasheet: {scenario.title}",
        "",
        f"A synthetic image dataset made by the AI Workbench from the scenario `{scenario.id}` "
        f"(the fictional country {scenario.country}). Every image, prompt, comment and person in it is "
        "invented; nothing depicts a real event or a real person. Every image was drawn from a structured "
        "spec, so its reference labels and caption are known by construction.",
        "",
        "## Composition",
        "",
        f"{len(included)} images in {included['batch'].nunique()} batches, with {len(scenario.label_ids)} "
        "taxonomy labels. Files: `dataset.parquet` (one row per image, captions and comments nested), "
        "`captions.parquet`, `comments.parquet`, `croissant.json`, and `images/train/` (the baseline's "
        "training batch) and `images/test/` (every other batch), each with its `metadata.parquet`.",
        "",
        _table(per_batch),
        "",
        "Not exported (each listed in the Workbench's `dataset_export` table):",
        "",
        _table(reasons),
        "",
        "## How it was made",
        "",
        f'- **Scenario:** `{config.scenario.name}`, "{scenario.title}".',
        *_generators(config),
        f"- **Seeds:** the config seed is {config.seed}. Each image's seed (column `seed`) is "
        f"sha256(seed, scenario `{scenario.id}`, batch, index), so the same config regenerates the same "
        "prompts and, with the procedural painter, byte-identical images.",
        f"- **Provenance:** {provenance_note}",
        "",
        "## Known shortcuts",
        "",
        *([f"- {s}" for s in shortcuts] or ["- None recorded for this image backend."]),
        "",
        "## Quality",
        "",
        "Over the exported images (5th percentile, median, 95th percentile): sharpness is the variance of "
        "the Laplacian, brightness and contrast the mean and standard deviation of grey levels in [0, 1], "
        "colourfulness Hasler and Suesstrunk's measure.",
        "",
        _table(q),
        "",
        f"Near-duplicates (perceptual hash within {cfg.near_duplicate_bits} of 64 bits): "
        f"{n_duplicate_pairs} pair(s); each image lists its own in `near_duplicates`.",
        "",
        "## Balance against the scenario's targets",
        "",
        "Jensen-Shannon distance (base 2) and chi-square goodness of fit of each attribute over the "
        "exported images. Where the scenario declares no weights, the target is uniform over the values "
        "(`target_source`). Demographics the spec does not record are listed as `not_recorded`.",
        "",
        _table(balance),
        "",
        "## License",
        "",
        f"{cfg.license} ({license_url(cfg.license)}). The scenario is fiction; cite the Workbench and the "
        "scenario file when you use the data.",
        "",
    ]
    return "\n".join(lines)


def dataset_card(config: WorkbenchConfig, name: str, folder: str) -> str:
    """README.md: the Hugging Face dataset card header (license, the imagefolder config) and how to load."""
    scenario = config.scenario_data
    return "\n".join(
        [
            "---",
            f"license: {config.dataset.license.lower()}",
            f'pretty_name: "{scenario.title}"',
            "tags: [synthetic, multimodal, social-movements]",
            "configs:",
            "- config_name: default",
            "  data_dir: images",
            "---",
            "",
            f"# {name}",
            "",
            f"Synthetic images of the fictional scenario `{scenario.id}`, made by the AI Workbench. "
            "See `datasheet.md` for how they were made and what not to trust them for.",
            "",
            "```python",
            "from datasets import load_dataset",
            f'ds = load_dataset("imagefolder", data_dir="{folder}/images", split="train")',
            "```",
            "",
        ]
    )
