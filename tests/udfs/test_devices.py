"""GPU choice per task: TaskContext addresses mapped through CUDA_VISIBLE_DEVICES, CPU without CUDA."""

from __future__ import annotations

from udfs.devices import address_to_ordinal, device_slot


def test_address_maps_through_visible_devices() -> None:
    assert address_to_ordinal("3", None) == 3
    assert address_to_ordinal("3", "2,3") == 1
    assert address_to_ordinal("5", "5") == 0
    assert address_to_ordinal("1", "7") == 0  # runtime narrowed visibility to the task's GPU


def test_cpu_without_cuda_or_when_asked() -> None:
    with device_slot("cpu") as d:
        assert d == "cpu"
    with device_slot(None) as d:
        assert d == "cpu"  # no CUDA on the test machines
