"""The accelerator: cuda, mps or cpu, and the dtype that suits it."""

import dagster as dg


class GpuResource(dg.ConfigurableResource):
    """Assets that use it run in pool `gpu` (limit 1 in the shipped instance config). Torch is imported
    when a device is picked, not when the code location loads: every run worker loads the location, and
    most of its runs never touch a model."""

    device: str = "auto"
    dtype: str = "auto"

    def pick(self):
        from workbench_dagster.device import pick_device

        return pick_device(self.device, self.dtype)

    def describe(self) -> dict:
        from workbench_dagster.device import describe_device

        device, dtype = self.pick()
        return {**describe_device(device), "dtype": str(dtype).replace("torch.", "")}
