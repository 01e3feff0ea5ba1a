"""Caption, comment and image backends behind one small interface (base.py), listed once in registry.py."""

from workbench_dagster.backends.registry import make_backend, make_image_backend, make_text_backend

__all__ = ["make_backend", "make_image_backend", "make_text_backend"]
