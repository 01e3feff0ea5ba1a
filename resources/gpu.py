"""The accelerator: cuda, mps or cpu, and the dtype that suits it."""

import dagster as dg

from workbench_dagster.device import describe_device, pick_device


class GpuResource(dg.ConfigurableResource):
    """Assets that use it run in pool `gpu` (limit 1 in the shipped instance config)."""

    device: str = "auto"
    dtype: str = "auto"

    def pick(self):
        return pick_device(self.device, self.dtype)

    def describe(self) -> dict:
        device, dtype = self.pick()
        return {**describe_device(device), "dtype": str(dtype).replace("torch.", "")}
