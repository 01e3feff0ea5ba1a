"""The text stage: preprocessed text and sentence embeddings per model x batch."""

import dagster as dg
import pandas as pd

from assets._shared.metadata import table_output
from assets._shared.partitions import model_and_batch, model_batch_partitions
from assets._shared.stage import stage_asset, stage_definitions
from resources.gpu import GpuResource
from resources.workbench import WorkbenchResource
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.text.corpus import collect_texts, embed_texts, preprocess_texts

STAGE = "text"


def preprocessed_text(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    synthetic_comments: pd.DataFrame,
    prompts: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Captions, label sets, comments and reference captions, with emojis as words, hashtags split,
    lemmas and the detected language, so networks compare words rather than spellings. Cached by text
    (with the language set and preprocessing version) like the embeddings: a rerun detects nothing again."""
    cfg = workbench.config
    model, _ = model_and_batch(context)
    scenario = cfg.scenario_data
    texts = collect_texts(
        model, mllm_captions, synthetic_comments, prompts, {t.id: t.name for t in scenario.taxonomy}
    )
    df, n_preprocessed = preprocess_texts(
        texts, tuple(sorted(scenario.comments.languages)), cache=workbench.text_cache
    )
    languages = df["lang"].value_counts().to_dict() if len(df) else {}
    return table_output(
        df,
        ["text_id", "source", "clean_text", "lang"],
        languages=languages,
        texts_preprocessed=n_preprocessed,
        texts_from_cache=len(df) - n_preprocessed,
    )


def embeddings(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    gpu: GpuResource,
    preprocessed_text: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Sentence-transformers vectors of captions, label sets, comments and reference captions."""
    from workbench_dagster.text.embeddings import TextEmbedder

    cfg = workbench.config
    device, _ = gpu.pick()
    embedder = TextEmbedder(cfg.embedder.model, device)
    df, encoded = embed_texts(
        preprocessed_text, embedder, cfg.embedder.model, cfg.embedder.batch_size, cache=workbench.vector_cache
    )
    return table_output(
        df,
        ["text_id", "source", "dim"],
        embedder=cfg.embedder.model,
        device=device,
        texts_encoded=encoded,
        dim=int(df["dim"].iloc[0]) if len(df) else 0,
    )


def definitions(config: WorkbenchConfig) -> dg.Definitions:
    per_model_batch = {"partitions_def": model_batch_partitions(config)}
    assets = [
        stage_asset(STAGE, **per_model_batch, kinds={"python", "parquet"})(preprocessed_text),
        stage_asset(STAGE, **per_model_batch, kinds={"pytorch", "parquet"}, pool="gpu")(embeddings),
    ]
    return stage_definitions(config, STAGE, assets)
