import torch

from seedvr.diffusion import gaussian_noise


def test_noise_is_the_float32_draw_rounded_to_the_compute_dtype() -> None:
    ref = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(7))
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        noise = gaussian_noise((2, 3, 4), torch.Generator().manual_seed(7), device="cpu", dtype=dtype)
        assert noise.dtype == dtype and torch.equal(noise, ref.to(dtype))
