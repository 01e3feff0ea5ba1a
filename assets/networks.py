"""The networks stage: corpus-level networks per model, over all batches, and how the models' networks
differ."""

import dagster as dg
import pandas as pd

from assets._shared.metadata import figure_png, inline_png_markdown, png_markdown, table_metadata, table_output
from assets._shared.partitions import ALL_BATCHES_OF_MODEL, model_partitions
from assets._shared.rules import backend_failures, code_version
from assets._shared.stage import stage_asset, stage_definitions
from resources.workbench import WorkbenchResource
from workbench_dagster.captioning.batch_flags import with_batch_flags
from workbench_dagster.networks.community_cards import community_table
from workbench_dagster.networks.comparison import compare_models
from workbench_dagster.networks.comparison import image_divergence as divergence_scores
from workbench_dagster.networks.exports import export_networks
from workbench_dagster.networks.figures import legend_line, map_figure, map_thumbnail, network_figure
from workbench_dagster.networks.layers import baseline_visual_features
from workbench_dagster.networks.narratives import PROMPT_VERSION as SUMMARY_PROMPT_VERSION
from workbench_dagster.networks.narratives import SCHEMA_VERSION as SUMMARY_SCHEMA_VERSION
from workbench_dagster.networks.narratives import narrate_communities
from workbench_dagster.networks.variant_registry import BIPARTITE
from workbench_dagster.networks.variants import (
    build_semantic_graph_incremental,
    centrality_and_communities,
    graph_nodes,
)
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.thumbnails import INLINE_LIMIT

STAGE = "networks"


def semantic_graph(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    embeddings: pd.DataFrame,
    synthetic_images: pd.DataFrame,
    baseline_models: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """The model's narrative networks in every configured variant, as one edge table with a `variant`
    column and a column per similarity layer (the multiplex view), plus the image-label bipartite edges.

    Analysts compare variants to see how much captions and comments, beyond labels, change who
    is close to whom. The visual layer is the baseline's penultimate layer, so it exists only
    for baseline models; other models' `labels` variant is label overlap alone.
    """
    cfg = workbench.config
    model = context.partition_key
    visual = None
    registry = baseline_models.set_index("model") if len(baseline_models) else pd.DataFrame()
    if model in registry.index:
        ids = list(graph_nodes(mllm_captions)["image_id"])
        visual = baseline_visual_features(
            registry.loc[model, "checkpoint"], synthetic_images, ids, workbench.image_store.get
        )
    # Each layer's neighbour lists are kept under state/: a new batch's images are searched against
    # the corpus and merged into them, bit for bit the full build (networks/incremental.py).
    df, build = build_semantic_graph_incremental(
        model,
        mllm_captions,
        embeddings,
        cfg.scenario_data.label_ids,
        cfg.graph,
        visual,
        cfg.data_dir / "state" / "networks" / model,
    )
    if build["mode"] == "full":
        context.log.info(f"{model}: layers built in full: {build['reasons']}")
    counts = df["variant"].value_counts().to_dict() if len(df) else {}
    return table_output(
        df,
        ["variant", "source", "target", "weight"],
        nodes=int(mllm_captions["image_id"].nunique()),
        edges_per_variant=counts,
        visual_layer=bool(visual),
        layer_weights=cfg.graph.layer_weights.model_dump(),
        build_mode=build["mode"],
        new_nodes=build["new_nodes"],
        full_build_reasons=dg.MetadataValue.json(build["reasons"]),
        build_per_layer=dg.MetadataValue.json(build.get("layers", {})),
    )


def centrality_table(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    semantic_graph: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Who holds each variant together: degree, strength, betweenness (sampled on big graphs),
    eigenvector, PageRank and closeness per image, its Leiden community and hierarchical Leiden path,
    and 2-D map coordinates; for the bipartite variant, the same per label of its label projection.

    Also writes GEXF and GraphML per variant for Gephi, and pictures of each network.
    """
    cfg = workbench.config
    model = context.partition_key
    df, stats = centrality_and_communities(model, mllm_captions, semantic_graph, cfg.graph)
    exports = export_networks(
        model, mllm_captions, semantic_graph, df, cfg.data_dir / "exports", cfg.graph.exports
    )
    files = {
        f"{variant}_{fmt}": dg.MetadataValue.path(path)
        for variant, paths in exports.items()
        for fmt, path in paths.items()
    }
    return dg.Output(
        df,
        metadata=table_metadata(
            df.sort_values("pagerank", ascending=False),
            ["variant", "node", "pagerank", "betweenness", "community"],
            _network_pictures(model, stats, df, semantic_graph, mllm_captions),
            graph_stats=dg.MetadataValue.json(stats),
            **files,
        ),
    )


def _network_pictures(
    model: str, stats: dict, nodes: pd.DataFrame, edges: pd.DataFrame, captions: pd.DataFrame
) -> dict:
    """A network per image variant, then a map per variant, each with a legend naming its communities'
    top labels: a person sees communities faster than reads them. They lead the metadata, after a
    thumbnail of each the UI shows without a click (thumbnails.py)."""
    node_labels = {i: list(labels) for i, labels in zip(captions["image_id"], captions["labels"])}
    thumbnails, networks, maps = {}, {}, {}
    for variant in stats:
        if variant == BIPARTITE:
            continue
        mine = nodes[nodes["variant"] == variant]
        alt, legend = f"{variant} communities", legend_line(mine, node_labels)
        thumbnails[f"thumbnail_{variant}"] = inline_png_markdown(  # shown without a click
            map_thumbnail(mine, alt, INLINE_LIMIT - len(legend) - 2), alt, f"network_{variant}", legend
        )
        picture = network_figure(
            mine, edges[edges["variant"] == variant], f"{model} / {variant}: communities", node_labels
        )
        networks[f"network_{variant}"] = png_markdown(figure_png(picture), f"{variant} network")
        picture = map_figure(mine, f"{model} / {variant}: map (force layout)", node_labels)
        maps[f"map_{variant}"] = png_markdown(figure_png(picture), f"{variant} map")
    return {**thumbnails, **networks, **maps}


def communities(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    centrality_table: pd.DataFrame,
    semantic_graph: pd.DataFrame,
    mllm_captions: pd.DataFrame,
    preprocessed_text: pd.DataFrame,
    caption_flags: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Each community of each variant as a card a researcher can read: size, labels over-represented
    against the corpus (lift), c-TF-IDF keywords of captions and comments, its most central images
    and a short narrative summary, written by the text model in `graph.summaries` when one is
    configured (cached like every call) and by a template otherwise. Level 0 is the flat Leiden
    partition; levels 1.. the hierarchy, with the partition's modularity on every row. Flagged
    captions (caption_flags: instruction-like, wrong language, far from the image's other captions)
    give no keywords and are not shown to the summary model unless `graph.keywords_from_flagged`."""
    settings = workbench.config.graph.summaries
    from_flagged = workbench.config.graph.keywords_from_flagged
    captions = with_batch_flags(mllm_captions, caption_flags)
    cards = community_table(
        context.partition_key,
        centrality_table,
        captions,
        preprocessed_text,
        semantic_graph,
        keywords_from_flagged=from_flagged,
    )
    with backend_failures():  # a summary model without its key: say what to set
        df, counts = narrate_communities(
            cards,
            captions,
            workbench.config.scenario_data,
            settings,
            workbench.call_cache,
            include_flagged=from_flagged,
        )
    failed = df[df["summary_error"].notna()]
    for row in failed.itertuples(index=False):
        context.log.warning(
            f"template summary kept for {row.variant}/{row.level}/{row.community}: {row.summary_error}"
        )
    levels = df.groupby(["variant", "level"])["modularity"].first().round(4) if len(df) else pd.Series(dtype=float)
    return table_output(
        df,
        ["variant", "level", "community", "size", "top_labels", "keywords", "summary"],
        modularity_per_level=dg.MetadataValue.json({f"{v}/{lvl}": float(m) for (v, lvl), m in levels.items()}),
        summaries_by=settings.model if settings.backend != "template" else "template",
        summary_calls=dg.MetadataValue.json(counts),
        flagged_captions=int(sum(len(f) > 0 for f in captions["flags"])) if "flags" in captions else 0,
        keywords_from_flagged=from_flagged,
    )


def network_comparison(centrality_table: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Do the models tell the same story? Per variant and pair of models: ARI and NMI between their
    Leiden partitions over the images both placed, and the overlap of their ten most central
    images and labels."""
    df = compare_models(centrality_table)
    return table_output(df, ["variant", "model_a", "model_b", "ari", "nmi"])


def image_divergence(workbench: WorkbenchResource, semantic_graph: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Where the models diverge: every model's graph of a variant embedded jointly (omnibus embedding
    over the images all models share), and each image scored by how far apart the models place it."""
    df = divergence_scores(semantic_graph, workbench.config.graph.seed)
    top = df.sort_values("divergence", ascending=False)
    return dg.Output(df, metadata=table_metadata(top, ["variant", "image_id", "divergence"]))


def definitions(config: WorkbenchConfig) -> dg.Definitions:
    """Summaries from a text model carry its prompt's version; template summaries have none."""
    per_model = {"partitions_def": model_partitions(config)}
    all_batches = dg.AssetIn(partition_mapping=ALL_BATCHES_OF_MODEL)
    every_batch = dg.AssetIn(partition_mapping=dg.AllPartitionMapping())
    summaries_by_model = config.graph.summaries.backend != "template"
    assets = [
        stage_asset(
            STAGE,
            **per_model,
            kinds={"networkx", "parquet"},
            ins={
                "mllm_captions": all_batches,
                "embeddings": all_batches,
                "synthetic_images": every_batch,
                "baseline_models": dg.AssetIn(),
            },
        )(semantic_graph),
        stage_asset(
            STAGE, **per_model, kinds={"networkx", "graspologic", "parquet"}, ins={"mllm_captions": all_batches}
        )(centrality_table),
        stage_asset(
            STAGE,
            **per_model,
            kinds={"scikitlearn", "parquet"},
            ins={"mllm_captions": all_batches, "preprocessed_text": all_batches, "caption_flags": every_batch},
            code_version=code_version(
                summary_prompt=SUMMARY_PROMPT_VERSION if summaries_by_model else None,
                summary_schema=SUMMARY_SCHEMA_VERSION if summaries_by_model else None,
            ),
        )(communities),
        stage_asset(STAGE, kinds={"scikitlearn", "parquet"})(network_comparison),
        stage_asset(STAGE, kinds={"graspologic", "parquet"})(image_divergence),
    ]
    return stage_definitions(config, STAGE, assets)
