import numpy as np
import torch

from seedvr.restorer.lq import LQFrames


def _frames(dtype, t=11):
    rng = np.random.default_rng(0)
    return rng.integers(0, np.iinfo(dtype).max, size=(t, 12, 20, 3), dtype=dtype)


def test_chunks_equal_the_whole_clip_and_cover_it():
    lq = LQFrames(_frames(np.uint8), torch.device("cpu"), 24, 40)
    whole = lq.chunk(0, len(lq))
    spans = list(lq.spans(4))
    assert spans == [(0, 4), (4, 8), (8, 11)]
    torch.testing.assert_close(torch.cat([lq.chunk(i, j) for i, j in spans]), whole, rtol=0, atol=0)
    assert whole.shape == (11, 3, 24, 40) and whole.min() >= -1 and whole.max() <= 1


def test_uint16_uses_the_full_scale_and_same_size_is_exact():
    frames = _frames(np.uint16, t=2)
    x = LQFrames(frames, torch.device("cpu"), 12, 20).chunk(0, 2)
    expected = torch.from_numpy(frames.astype(np.float64) / 65535 * 2 - 1).permute(0, 3, 1, 2).float()
    torch.testing.assert_close(x, expected)


def test_downscale_is_antialiased():
    # A one-pixel checkerboard averages to grey when shrunk with antialiasing.
    board = (np.indices((16, 16)).sum(0) % 2 * 255).astype(np.uint8)
    frames = np.repeat(board[None, :, :, None], 3, axis=3)
    x = LQFrames(frames, torch.device("cpu"), 4, 4).chunk(0, 1)
    assert x.abs().max() < 0.2


def test_reversed_channel_views_are_accepted():
    frames = _frames(np.uint8, t=2)
    flipped = frames[..., ::-1]
    x = LQFrames(flipped, torch.device("cpu"), 12, 20).chunk(0, 2)
    assert torch.equal(x[:, 0], LQFrames(frames, torch.device("cpu"), 12, 20).chunk(0, 2)[:, 2])
