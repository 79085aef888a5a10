"""Plan -> restore -> stitch: exact on the lossless path; cross-fades remove seams; tags survive."""

from __future__ import annotations

import hashlib
import os
from fractions import Fraction

import av
import numpy as np
import pytest

from seedvr.errors import ConfigError, InputError, VideoError
from seedvr.restorer import IdentityRestorer
from seedvr.video.blend import crossfade_weights
from seedvr.video.decode import read_frames
from seedvr.video.encode import EncodeSettings, output_sar
from seedvr.video.info import VideoInfo
from seedvr.video.intermediate import segment_key, write_segment
from seedvr.video.plan import Segment, plan_segments
from seedvr.video.probe import probe
from seedvr.video.stitch import blend_stream, encode_stream, stitch_video


def _restore_segments(info: VideoInfo, segs: list[Segment], root: str, restorer) -> tuple[list[str], list[str]]:
    urls, sums = [], []
    for s in segs:
        frames = read_frames(info.url, s.window_start, s.window_stop, info)
        sf = write_segment(segment_key(root, "vid", "cfg", s.index), restorer.restore(frames, seed=s.index))
        urls.append(sf.url)
        sums.append(sf.sha256)
    return urls, sums


def _packet_digests(url: str, kind: str) -> list[str]:
    with av.open(url) as c:
        streams = [s for s in c.streams if s.type == kind]
        if not streams:
            return []
        return [hashlib.sha256(bytes(p)).hexdigest() for p in c.demux(streams[0]) if p.size]


@pytest.mark.parametrize(
    "name", ["cfr_mkv", "vfr_mkv", "rot90_mp4", "odd_mkv", "hdr10_mkv", "audio_mkv", "mpegts", "subs_mkv"]
)
def test_lossless_round_trip_is_exact(probed, clip, tmp_path, name: str) -> None:
    info = probed(name)
    segs = plan_segments(info.num_frames, 9, 3)
    urls, sums = _restore_segments(info, segs, str(tmp_path / "segs"), IdentityRestorer(1))
    out = str(tmp_path / "out.mkv")
    result = stitch_video(info, segs, urls, out, settings=EncodeSettings.lossless(), checksums=sums)
    assert result.num_frames == info.num_frames and sorted(os.listdir(tmp_path)) == ["out.mkv", "segs"]
    back = probe(out)
    assert back.num_frames == info.num_frames
    assert np.array_equal(read_frames(out, 0, back.num_frames, back), read_frames(info.url, 0, info.num_frames, info))
    # exact timestamps: identical seconds for every frame (MKV stores ms, so compare as rationals)
    assert [back.time_of(i) for i in range(back.num_frames)] == [info.time_of(i) for i in range(info.num_frames)]
    assert back.vfr == info.vfr and back.rotation == info.rotation
    assert (back.color.primaries, back.color.transfer) == (info.color.primaries, info.color.transfer)
    if info.audio:
        src_audio = _packet_digests(info.decode_url, "audio")
        assert src_audio and _packet_digests(out, "audio") == src_audio
        assert result.copied_packets[info.audio[0].index] == len(src_audio)
    if info.subtitles:
        src_subs = _packet_digests(info.decode_url, "subtitle")
        assert len(src_subs) == 2 and _packet_digests(out, "subtitle") == src_subs


def test_subtitles_that_mp4_cannot_hold_are_skipped_and_reported(probed, tmp_path) -> None:
    info = probed("subs_mkv")
    segs = plan_segments(info.num_frames, 17, 4)
    urls, _ = _restore_segments(info, segs, str(tmp_path / "segs"), IdentityRestorer(1))
    res = stitch_video(info, segs, urls, str(tmp_path / "out.mp4"), settings=EncodeSettings(preset="ultrafast"))
    assert res.skipped_streams and "subtitle" in res.skipped_streams[0]
    assert _packet_digests(str(tmp_path / "out.mp4"), "audio") == _packet_digests(info.url, "audio")


def test_lossy_encode_keeps_timestamps_tags_rotation_and_audio(probed, clip, tmp_path) -> None:
    info = probed("audio_mp4")
    segs = plan_segments(info.num_frames, 13, 4)
    urls, _ = _restore_segments(info, segs, str(tmp_path / "segs"), IdentityRestorer(1))
    out = str(tmp_path / "out.mp4")
    stitch_video(info, segs, urls, out, settings=EncodeSettings(crf=16, preset="ultrafast"))
    back = probe(out)
    assert back.num_frames == 32 and back.pix_fmt == "yuv420p"
    assert back.color.names() == {"matrix": "bt709", "range": "tv", "primaries": "bt709", "transfer": "bt709"}
    assert back.pts == info.pts and back.time_base == info.time_base
    assert _packet_digests(out, "audio") == _packet_digests(info.url, "audio")
    err = np.abs(read_frames(out, 0, 32, back).astype(int) - read_frames(info.url, 0, 32, info).astype(int))
    assert err.mean() < 8


def test_vfr_and_rotation_survive_lossy_encode(probed, clip, tmp_path) -> None:
    for name in ("vfr_mp4", "rot90_mp4"):
        info = probed(name)
        segs = plan_segments(info.num_frames, 9, 2)
        urls, _ = _restore_segments(info, segs, str(tmp_path / name), IdentityRestorer(1))
        out = str(tmp_path / f"{name}.mp4")
        stitch_video(info, segs, urls, out, settings=EncodeSettings(preset="ultrafast"))
        back = probe(out)
        assert [back.time_of(i) for i in range(32)] == [info.time_of(i) for i in range(32)]
        assert back.rotation == info.rotation and back.vfr == info.vfr


def test_ten_bit_hdr_source_gets_ten_bit_output(probed, clip, tmp_path) -> None:
    info = probed("hdr10_mkv")
    segs = plan_segments(info.num_frames, 17, 4)
    urls, _ = _restore_segments(info, segs, str(tmp_path / "segs"), IdentityRestorer(1))
    out = str(tmp_path / "out.mkv")
    res = stitch_video(info, segs, urls, out, settings=EncodeSettings(codec="libx265", preset="ultrafast"))
    back = probe(out)
    assert res.pix_fmt == "yuv420p10le" and back.bit_depth == 10
    assert back.color.names()["transfer"] == "smpte2084" and back.color.names()["matrix"] == "bt2020nc"


def test_hdr10_static_metadata_survives(probed, tmp_path) -> None:
    info = probed("hdr10_md_mkv")
    md = info.hdr_metadata
    assert md is not None and md.max_cll == 1000 and md.max_fall == 400 and md.luminance == (0.0001, 1000.0)
    segs = plan_segments(info.num_frames, 5, 2)
    urls, _ = _restore_segments(info, segs, str(tmp_path / "segs"), IdentityRestorer(1))
    out = str(tmp_path / "out.mkv")
    stitch_video(info, segs, urls, out, settings=EncodeSettings(codec="libx265", preset="ultrafast"))
    assert probe(out).hdr_metadata == md


def test_svtav1_encode(probed, tmp_path) -> None:
    info = probed("cfr_mkv")
    segs = plan_segments(info.num_frames, 17, 4)
    urls, _ = _restore_segments(info, segs, str(tmp_path / "segs"), IdentityRestorer(2))  # AV1 wants >= 64 px
    out = str(tmp_path / "out.mkv")
    res = stitch_video(info, segs, urls, out, settings=EncodeSettings(codec="libsvtav1", crf=35, preset="12"))
    back = probe(out)
    assert back.codec in ("av1", "libdav1d") and back.num_frames == 32 and back.pts == info.pts
    assert (res.width, res.height) == (128, 96)


def test_upscaled_output_keeps_display_aspect(probed, clip, tmp_path) -> None:
    info = probed("odd_mkv")
    segs = plan_segments(info.num_frames, 17, 4)
    urls, _ = _restore_segments(info, segs, str(tmp_path / "segs"), IdentityRestorer(2))
    out = str(tmp_path / "out.mp4")
    res = stitch_video(info, segs, urls, out, settings=EncodeSettings(preset="ultrafast"))
    back = probe(out)
    assert (res.width, res.height) == (132, 76) and back.sar == (1, 1)
    # a non-uniform resize is compensated by the sample aspect ratio
    assert output_sar((1, 1), (64, 48), (64, 96)) == Fraction(2, 1)
    assert output_sar((4, 3), (720, 576), (1440, 1152)) == Fraction(4, 3)


# ------------------------------------------------------------------------------------------- seams


def _biased_segments(info: VideoInfo, segs: list[Segment]) -> list[np.ndarray]:
    """What a restorer with a per-segment brightness bias (+12 levels per segment) would return."""
    out = []
    for s in segs:
        frames = read_frames(info.url, s.window_start, s.window_stop, info).astype(np.int32)
        out.append(np.clip(frames + 12 * s.index, 0, 255).astype(np.uint8))
    return out


def _max_join_jump(frames: np.ndarray, joins: list[int]) -> float:
    means = frames.reshape(len(frames), -1).mean(axis=1)
    return max(abs(means[j] - means[j - 1]) for j in joins)


@pytest.mark.parametrize("kind", ["linear", "hann"])
def test_crossfade_removes_the_jump_at_every_join(probed, clip, kind: str) -> None:
    info = probed("cfr_mkv")
    segs = plan_segments(info.num_frames, 9, 4)
    restored = _biased_segments(info, segs)

    def stitched(blend: str) -> np.ndarray:
        pairs = list(blend_stream(segs, lambda k: iter(restored[k]), num_frames=info.num_frames, blend=blend))
        assert [f for f, _ in pairs] == list(range(info.num_frames))
        return np.stack([fr for _, fr in pairs])

    source = read_frames(info.url, 0, info.num_frames, info)
    base = _max_join_jump(source, list(range(1, info.num_frames)))  # content motion alone
    joins = [s.first_output for s in segs[1:]]
    hard, faded = _max_join_jump(stitched("none"), joins), _max_join_jump(stitched(kind), joins)
    assert hard > 10  # the bias step shows up as a jump
    # with the cross-fade the step is spread over context+1 frames: each step <= bias/(ctx+1) + motion
    assert faded < hard / 2
    assert faded <= 12 * max(np.diff(np.r_[0, crossfade_weights(4, kind), 1])) + base + 1
    # frames in the overlap are blends of the same instants, never of different times
    s1 = segs[1]
    w = crossfade_weights(s1.context_frames, kind)
    f = s1.window_start
    older, newer = restored[0][f - segs[0].window_start].astype(float), restored[1][0].astype(float)
    expect = np.rint(older + np.float32(w[0]) * (newer - older))
    assert np.abs(stitched(kind)[f].astype(float) - expect).max() <= 1


def test_wrong_segment_length_and_frame_count_fail_without_output(probed, clip, tmp_path) -> None:
    info = probed("cfr_mkv")
    segs = plan_segments(info.num_frames, 9, 3)
    frames = [read_frames(info.url, s.window_start, s.window_stop, info) for s in segs]
    with pytest.raises(InputError, match="holds 8 frames, expected 9"):
        list(blend_stream(segs, lambda k: iter(frames[k][:8] if k == 1 else frames[k]), num_frames=32))
    out = str(tmp_path / "short.mkv")
    pairs = ((i, frames[0][i]) for i in range(5))
    with pytest.raises(VideoError, match="encoded 5 frames but the source has 32"):
        encode_stream(info, pairs, out, settings=EncodeSettings.lossless())
    assert os.listdir(tmp_path) == []  # the atomic write left nothing at or near the final key


def test_bad_output_settings() -> None:
    with pytest.raises(ConfigError, match="needs an .mkv"):
        from seedvr.video.encode import container_format

        container_format("out.mp4", EncodeSettings.lossless())
    with pytest.raises(ConfigError, match="codec must be one of"):
        EncodeSettings(codec="mpeg2video")
    with pytest.raises(ConfigError, match="crf"):
        EncodeSettings(crf=99)


@pytest.mark.parametrize("damaged", [0, 1, -1])
def test_a_damaged_segment_is_never_stitched(probed, tmp_path, damaged: int) -> None:
    """Segments are verified in the pass that decodes them: the error comes before the output is committed,
    whichever segment is damaged, so no file appears at the output key."""
    from seedvr.errors import CorruptVideoError

    info = probed("audio_mkv")
    segs = plan_segments(info.num_frames, 9, 3)
    urls, sums = _restore_segments(info, segs, str(tmp_path / "segs"), IdentityRestorer(1))
    with open(urls[damaged], "r+b") as f:
        f.seek(os.path.getsize(urls[damaged]) // 2)
        f.write(b"\x5a")
    out = str(tmp_path / "out.mkv")
    with pytest.raises(CorruptVideoError, match="checksum mismatch"):
        stitch_video(info, segs, urls, out, settings=EncodeSettings.lossless(), checksums=sums)
    assert not os.path.exists(out) and sorted(os.listdir(tmp_path)) == ["segs"]
