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


def test_tasks_sharing_a_gpu_are_bounded_by_the_semaphore() -> None:
    import threading
    import time

    active, peak, lock = [0], [0], threading.Lock()

    def task() -> None:
        with device_slot("cuda:7", tasks_per_gpu=2) as d:
            assert d == "cuda:7"
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.02)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=task) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2
