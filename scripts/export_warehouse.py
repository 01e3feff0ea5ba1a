"""`make export`: a self-contained copy of the warehouse to share (every table materialised, no view
onto a file), by default with the images its `uri`s name, so the copy's folder can be zipped and sent.

    .venv/bin/python scripts/export_warehouse.py [TARGET] [--warehouse PATH] [--no-images]

TARGET defaults to <data_dir>/share/warehouse.duckdb; WORKBENCH_CONFIG selects the config, as for the
code location. Exits 1 naming the images it could not find.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from workbench_dagster.scenario.config import load_config
    from workbench_dagster.warehouse.export import export_warehouse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "target", nargs="?", type=Path, help="the copy's path (default <data_dir>/share/warehouse.duckdb)"
    )
    parser.add_argument("--warehouse", type=Path, help="the warehouse to copy (default: the config's)")
    parser.add_argument("--no-images", action="store_true", help="copy the tables only, not the images")
    args = parser.parse_args(argv)
    config = None if args.warehouse and args.target else load_config()
    source = args.warehouse or config.warehouse
    target = args.target or config.data_dir / "share" / "warehouse.duckdb"
    if not Path(source).is_file():
        print(
            f"{source}: no warehouse there; build it first (make demo, or materialize the warehouse asset)",
            file=sys.stderr,
        )
        return 1
    result = export_warehouse(source, target, with_images=not args.no_images)
    print(f"Exported {len(result['tables'])} tables and {result['images']} images to {result['path']}")
    if result["missing_images"]:
        print(f"{len(result['missing_images'])} images not found under the data_dir:", file=sys.stderr)
        for path in result["missing_images"][:20]:
            print(f"  {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
