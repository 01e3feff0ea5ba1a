import pytest
import torch

from workbench_dagster.device import describe_device, pick_device

HAS_CUDA = torch.cuda.is_available()
HAS_MPS = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


@pytest.mark.skipif(HAS_CUDA or HAS_MPS, reason="an accelerator is visible, so auto would not pick cpu")
def test_auto_falls_back_to_cpu_with_float32():
    assert pick_device() == ("cpu", torch.float32)
    assert pick_device("auto", "auto") == ("cpu", torch.float32)


def test_explicit_cpu_and_explicit_dtype():
    assert pick_device("cpu", "auto") == ("cpu", torch.float32)
    assert pick_device("cpu", "bfloat16") == ("cpu", torch.bfloat16)


@pytest.mark.skipif(HAS_CUDA, reason="a CUDA GPU is visible")
def test_explicit_cuda_without_gpu_says_so():
    with pytest.raises(RuntimeError, match=r"device 'cuda' requested in gpu.device but no CUDA GPU is visible"):
        pick_device("cuda")


@pytest.mark.skipif(HAS_MPS, reason="an MPS device is visible")
def test_explicit_mps_without_device_says_so():
    with pytest.raises(RuntimeError, match="device 'mps' requested"):
        pick_device("mps")


@pytest.mark.parametrize(("preference", "dtype"), [("tpu", "auto"), ("cpu", "int8")])
def test_unknown_names_are_rejected(preference, dtype):
    with pytest.raises(ValueError, match="must be one of"):
        pick_device(preference, dtype)


def test_describe_cpu():
    info = describe_device("cpu")
    assert info["device"] == "cpu"
    assert info["name"] == "cpu"
    assert info["torch_version"] == torch.__version__


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_cuda_is_picked_and_described():
    device, dtype = pick_device()
    assert device == "cuda"
    assert dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    info = describe_device(device)
    assert info["name"] == torch.cuda.get_device_name(0)
    assert info["memory_gib"] > 0
