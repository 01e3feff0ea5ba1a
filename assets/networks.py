"""Corpus-level networks per model, over all batches."""


import dagster as dg
import pandas as pd

from assets.metadata import figure_png, png_markdown, table_metadata
from assets.partitions import ALL_BATCHES_OF_MODEL, model_partitions
from resources.workbench import WorkbenchResource
from workbench_dagster.config import WorkbenchConfig
from workbench_dagster.networks import (
    build_semantic_graph,
    centrality_and_communities,
    community_table,
    network_figure,
)

EAGER = dg.AutomationCondition.eager()


def build_network_assets(config: WorkbenchConfig) -> list:
    partitions = model_partitions(config)
    all_batches = dg.AssetIn(partition_mapping=ALL_BATCHES_OF_MODEL)

    @dg.asset(partitions_def=partitions, group_name="networks", kinds={"networkx", "parquet"},
              automation_condition=EAGER, ins={"mllm_captions": all_batches, "embeddings": all_batches})
    def semantic_graph(
        context: dg.AssetExecutionContext, workbench: WorkbenchResource,
        mllm_captions: pd.DataFrame, embeddings: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        """Edges between a model's images: sparse kNN caption similarity plus label overlap, all batches."""
        cfg = workbench.config
        df = build_semantic_graph(context.partition_key, mllm_captions, embeddings, cfg.scenario_data.label_ids, cfg.graph)
        return dg.Output(df, metadata=table_metadata(
            df, ["source", "target", "weight"], nodes=int(mllm_captions["image_id"].nunique()),
            mean_weight=float(df["weight"].mean()) if len(df) else 0.0,
        ))

    @dg.asset(partitions_def=partitions, group_name="networks", kinds={"networkx", "graspologic", "parquet"},
              automation_condition=EAGER, ins={"mllm_captions": all_batches})
    def centrality_table(
        context: dg.AssetExecutionContext, workbench: WorkbenchResource,
        mllm_captions: pd.DataFrame, semantic_graph: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        """Degree, strength, betweenness, eigenvector, PageRank and closeness per image, and its Leiden community."""
        cfg = workbench.config
        df, stats = centrality_and_communities(context.partition_key, mllm_captions, semantic_graph, cfg.graph)
        picture = figure_png(network_figure(df, semantic_graph, f"{context.partition_key}: communities", cfg.graph.seed))
        return dg.Output(df, metadata=table_metadata(
            df.sort_values("pagerank", ascending=False), ["node", "pagerank", "betweenness", "community"],
            **{k: v for k, v in stats.items() if v is not None}, network=png_markdown(picture, "semantic network"),
        ))

    @dg.asset(partitions_def=partitions, group_name="networks", kinds={"scikitlearn", "parquet"},
              automation_condition=EAGER, ins={"mllm_captions": all_batches, "preprocessed_text": all_batches})
    def communities(
        context: dg.AssetExecutionContext, centrality_table: pd.DataFrame,
        mllm_captions: pd.DataFrame, preprocessed_text: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        """Each Leiden community summarised: size, top labels, c-TF-IDF keywords and its most central images."""
        df = community_table(context.partition_key, centrality_table, mllm_captions, preprocessed_text)
        return dg.Output(df, metadata=table_metadata(df, ["community", "size", "top_labels", "keywords"]))

    return [semantic_graph, centrality_table, communities]
