"""The provenance stage: what every image says about its making, and a detector for those that say nothing.

- `image_provenance` (per batch): C2PA (signature validated), XMP source type and EXIF/PNG tags of every
  stored image, read from its bytes; it verifies the Workbench's own images and flags landing images
  that declare themselves generated;
- `ai_image_detector` (every batch): a small CNN trained on the images whose provenance is known, and
  its P(generated) for every image; not trained, and said so, while one kind is missing;
- `ai_detector_evaluation`: its rates on held-out images against the provenance ground truth, with
  bootstrap intervals; no rate where one kind is missing.
"""

import dagster as dg
import pandas as pd

from assets._shared.metadata import table_metadata, table_output
from assets._shared.partitions import BATCH_PARTITIONS
from assets._shared.rules import code_version
from assets._shared.stage import stage_asset, stage_definitions
from resources.workbench import WorkbenchResource
from workbench_dagster.provenance.detector_recipe import RECIPE_VERSION
from workbench_dagster.provenance.evaluate import EVALUATION_VERSION, evaluate_detector
from workbench_dagster.provenance.identity import load_or_create
from workbench_dagster.provenance.scoring import detector_scores
from workbench_dagster.provenance.table import flagged_landing, own_unverified, provenance_rows
from workbench_dagster.provenance.writer import PROVENANCE_VERSION
from workbench_dagster.scenario.config import WorkbenchConfig

STAGE = "provenance"
OWN_VERIFIED = dg.AssetCheckSpec(
    "own_images_verified",
    asset="image_provenance",
    blocking=False,
    description="Every image the Workbench generated reads back with a C2PA manifest Trusted by its own CA.",
)
LANDING_FLAGGED = dg.AssetCheckSpec(
    "landing_declared_generated",
    asset="image_provenance",
    blocking=False,
    description="Warns when a landing image declares itself generated: never to be read as a photo.",
)


def image_provenance(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource, synthetic_images: pd.DataFrame
):
    """One row per image of the batch: `provenance` (c2pa-verified, declared-synthetic, declared-camera,
    none), the claim, its validation state (Trusted: the Workbench's own identity; Valid: intact, signer
    unknown; Invalid), the XMP source type, software and camera tags, and `flagged` for a landing image
    that declares itself generated. The reader trusts only the Workbench's own CA."""
    cfg = workbench.config
    trust = load_or_create(cfg.provenance_identity_dir, cfg.scenario_data.id).ca_pem
    df = provenance_rows(synthetic_images, workbench.image_store.get, trust)
    unverified, flagged = own_unverified(df), flagged_landing(df)
    for line in flagged:
        context.log.warning(f"landing image declares itself generated: {line}")
    counts = df["provenance"].value_counts().to_dict()
    yield dg.Output(
        df,
        metadata=table_metadata(
            df, ["image_id", "provenance", "c2pa_state", "digital_source_type", "flagged"], provenance=counts
        ),
    )
    yield dg.AssetCheckResult(
        check_name=OWN_VERIFIED.name,
        passed=not unverified,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"unverified": dg.MetadataValue.json(unverified[:20]), "n_unverified": len(unverified)},
    )
    yield dg.AssetCheckResult(
        check_name=LANDING_FLAGGED.name,
        passed=not flagged,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"flagged": dg.MetadataValue.json(flagged[:20]), "n_flagged": len(flagged)},
    )


def ai_image_detector(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    image_provenance: pd.DataFrame,
    synthetic_images: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """P(generated) for every image of every batch, from a small CNN trained on the images whose provenance
    says which kind they are. Without `provenance.detector.min_per_class` training images of each kind
    (the offline demo has no camera images) nothing is trained and every row says `not_trained`."""
    cfg = workbench.config
    df, info = detector_scores(
        image_provenance,
        synthetic_images,
        workbench.image_store.get,
        cfg.provenance.detector,
        cfg.seed,
        cfg.models_dir,
    )
    context.log.info(f"ai_image_detector: {info['status']}: {info['reason']}")
    extra = {k: v for k, v in info.items() if v is not None}
    return table_output(df, ["image_id", "ground_truth", "split", "p_generated", "status"], **extra)


def ai_detector_evaluation(
    workbench: WorkbenchResource, ai_image_detector: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """The detector's accuracy, balanced accuracy, true- and false-positive rates and ROC AUC on held-out
    images, against the provenance ground truth, with bootstrap 95% intervals. Where held-out images of
    one kind are missing, each metric row has no estimate and a note saying why."""
    df = evaluate_detector(ai_image_detector, seed=workbench.config.seed)
    return table_output(df, ["metric", "estimate", "ci_low", "ci_high", "n_generated", "n_camera", "note"])


def definitions(config: WorkbenchConfig) -> dg.Definitions:
    every_batch = dg.AssetIn(
        partition_mapping=dg.AllPartitionMapping(), metadata={"allow_missing_partitions": True}
    )
    assets = [
        stage_asset(
            STAGE,
            partitions_def=BATCH_PARTITIONS,
            kinds={"c2pa", "parquet"},
            check_specs=[OWN_VERIFIED, LANDING_FLAGGED],
            code_version=code_version(provenance=PROVENANCE_VERSION),
        )(image_provenance),
        stage_asset(
            STAGE,
            kinds={"pytorch", "parquet"},
            code_version=code_version(detector_recipe=RECIPE_VERSION),
            ins={"image_provenance": every_batch, "synthetic_images": every_batch},
        )(ai_image_detector),
        stage_asset(
            STAGE,
            kinds={"numpy", "parquet"},
            code_version=code_version(detector_recipe=RECIPE_VERSION, evaluation=EVALUATION_VERSION),
        )(ai_detector_evaluation),
    ]
    return stage_definitions(config, STAGE, assets)
