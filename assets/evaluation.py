"""Scores per model x batch against the references known by construction."""


import dagster as dg
import pandas as pd

from assets.metadata import table_metadata
from assets.partitions import model_and_batch, model_batch_partitions
from resources.workbench import WorkbenchResource
from workbench_dagster.config import WorkbenchConfig
from workbench_dagster.evaluation import EVAL_COLUMNS, score_partition

EAGER = dg.AutomationCondition.eager()


def build_evaluation_assets(config: WorkbenchConfig) -> list:
    @dg.asset(partitions_def=model_batch_partitions(config), group_name="evaluation", kinds={"scikitlearn", "parquet"},
              automation_condition=EAGER)
    def eval_scores(
        context: dg.AssetExecutionContext, workbench: WorkbenchResource,
        mllm_captions: pd.DataFrame, prompts: pd.DataFrame, embeddings: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        """Accuracy, micro and macro precision, recall and F1, Hamming loss and caption-to-reference cosine.

        Rows for the baseline's own training batch are flagged `is_training_batch` and left out of
        the leaderboard, so the baseline is judged only on batches it never saw.
        """
        cfg = workbench.config
        model, batch = model_and_batch(context)
        row = score_partition(model, batch, mllm_captions, prompts, embeddings, cfg.scenario_data.label_ids,
                              is_training_batch=(batch == cfg.baseline.train_batch))
        df = pd.DataFrame([row], columns=EVAL_COLUMNS)
        headline = {k: dg.MetadataValue.float(float(row[k])) for k in ("f1_micro", "f1_macro", "hamming_loss", "caption_cosine")
                    if row[k] is not None}
        return dg.Output(df, metadata=table_metadata(df, **headline))

    return [eval_scores]
