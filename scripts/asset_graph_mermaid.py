"""Prints the asset graph as a Mermaid flowchart, grouped by asset group, for the README."""

from workbench_dagster.definitions import defs


def main() -> None:
    graph = defs.resolve_asset_graph()
    groups: dict[str, list[str]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name or "default", []).append(key.to_user_string())
    print("flowchart LR")
    for group, names in sorted(groups.items()):
        print(f"  subgraph {group}")
        for name in sorted(names):
            print(f"    {name}")
        print("  end")
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        if key.to_user_string() == "warehouse":  # it reads every table; one arrow says so
            print("  tables([every table]) --> warehouse")
            continue
        for parent in sorted(graph.get(key).parent_keys, key=lambda k: k.to_user_string()):
            print(f"  {parent.to_user_string()} --> {key.to_user_string()}")


if __name__ == "__main__":
    main()
