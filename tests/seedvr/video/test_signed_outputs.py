"""Signed C2PA provenance inside restored files: sealing in the encoder, sidecars, verification."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import av
import numpy as np
import pytest

from seedvr.errors import ConfigError
from seedvr.provenance.facts import RestorationFacts, Source, Transform
from seedvr.provenance.ingredient import source_ingredient
from seedvr.provenance.manifest import ingredient_definition
from seedvr.provenance.seal import Sealer
from seedvr.provenance.signing import load_credential
from seedvr.provenance.tags import container_tags
from seedvr.provenance.test_certificate import ensure_test_chain, make_test_chain
from seedvr.provenance.verify import stated_content, verify
from seedvr.video.encode import EncodeSettings
from seedvr.video.stitch import encode_stream

pytest.importorskip("c2pa")


@pytest.fixture(scope="module")
def credential(tmp_path_factory: pytest.TempPathFactory):
    key, chain = ensure_test_chain(tmp_path_factory.mktemp("signer"))
    return load_credential(key, chain)


def _facts(source: str, title: str = "out.mp4", run_id: str = "run-1") -> RestorationFacts:
    return RestorationFacts(
        software="seedvr-lakehouse", software_version="0.1.0", code_version="0.1.0+gtest", preset="tiny-v2",
        model="SeedVR2", weights_sha256="ab" * 32, config_hash="0123456789abcdef", run_id=run_id, title=title,
        source=Source(uri=source, size_bytes=Path(source).stat().st_size, sha256="cd" * 32, file_version="v1"),
        job_id="42", job_run_id="7", video_id="vid-1",
        transforms=(Transform("c2pa.filtered", "deinterlace", {"filter": "bwdif"}),),
    )


def _encode(probed, name: str, out: str, facts: RestorationFacts, credential, ingredient: bytes | None = None):
    info = probed(name)
    frames = ((i, np.full((info.height, info.width, 3), 8 * i, np.uint8)) for i in range(info.num_frames))
    sealer = Sealer(facts, credential, ingredient)
    res = encode_stream(info, frames, out, settings=EncodeSettings(preset="ultrafast", crf=30),
                        tags=container_tags(facts), seal=sealer)
    return res, sealer.record


def _flip_video_byte(path: str) -> None:
    data = bytearray(Path(path).read_bytes())
    at = data.find(b"mdat")
    at = at + 64 if at >= 0 else len(data) // 2
    data[at] ^= 0x01
    Path(path).write_bytes(bytes(data))


def test_signed_mp4_verifies_plays_and_carries_its_facts(tmp_path, clip, probed, credential):
    out = str(tmp_path / "out.mp4")
    res, record = _encode(probed, "cfr_mp4", out, _facts(clip("cfr_mp4")), credential)
    assert record.embedded and record.sidecar_url is None and record.test_only
    assert not Path(out + ".c2pa").exists()
    with av.open(out) as c:  # still a playable file with every frame, and the plain tags
        assert sum(1 for _ in c.decode(video=0)) == probed("cfr_mp4").num_frames
        tags = dict(c.metadata)
    assert json.loads(tags["AIGC"])["Label"] == "1"
    assert "generative" in tags["comment"]
    rep = verify(out)
    assert rep.ok and rep.where == "embedded" and rep.label == record.label and rep.disclosed
    assert rep.restoration["run_id"] == "run-1" and rep.restoration["preset"] == "tiny-v2"
    assert rep.restoration["source"]["uri"] == clip("cfr_mp4")
    assert rep.test_only and any("TEST certificate" in line for line in rep.lines())
    assert res.sha256 == hashlib.sha256(Path(out).read_bytes()).hexdigest()  # the digest is of the signed bytes


def test_one_flipped_byte_of_video_data_fails_verification(tmp_path, clip, probed, credential):
    out = str(tmp_path / "out.mp4")
    _encode(probed, "cfr_mp4", out, _facts(clip("cfr_mp4")), credential)
    _flip_video_byte(out)
    rep = verify(out)
    assert not rep.ok and rep.state == "Invalid" and rep.failures


def test_mkv_output_gets_a_sidecar_that_binds_its_bytes(tmp_path, clip, probed, credential):
    out = str(tmp_path / "out.mkv")
    _, record = _encode(probed, "cfr_mkv", out, _facts(clip("cfr_mkv"), title="out.mkv"), credential)
    assert not record.embedded and record.sidecar_url == out + ".c2pa" and Path(out + ".c2pa").is_file()
    rep = verify(out)
    assert rep.ok and rep.where == "sidecar"
    _flip_video_byte(out)
    assert not verify(out).ok


def test_a_source_with_its_own_manifest_stays_an_ingredient(tmp_path, clip, probed, credential):
    signed_source = str(tmp_path / "signed_source.mp4")
    _encode(probed, "cfr_mp4", signed_source, _facts(clip("cfr_mp4")), credential)
    facts = _facts(signed_source, title="second.mp4", run_id="run-2")
    archive, digest = source_ingredient(signed_source, ingredient_definition(facts))
    assert digest == hashlib.sha256(Path(signed_source).read_bytes()).hexdigest()
    out = str(tmp_path / "second.mp4")
    _encode(probed, "cfr_mp4", out, facts, credential, archive)
    rep = verify(out)
    assert rep.ok and rep.source_has_manifest
    plain, _ = source_ingredient(clip("cfr_mp4"), ingredient_definition(_facts(clip("cfr_mp4"))))
    out2 = str(tmp_path / "third.mp4")
    _encode(probed, "cfr_mp4", out2, _facts(clip("cfr_mp4")), credential, plain)
    assert verify(out2).ok and not verify(out2).source_has_manifest


def test_the_same_restoration_signs_the_same_content(tmp_path, clip, probed, credential):
    a, b = str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")
    _encode(probed, "cfr_mp4", a, _facts(clip("cfr_mp4")), credential)
    _encode(probed, "cfr_mp4", b, _facts(clip("cfr_mp4")), credential)
    ca, cb = stated_content(a), stated_content(b)
    assert ca == cb and ca["instance_id"].startswith("xmp:iid:") and ca["ingredients"][0]["instance_id"]


def test_unsigned_and_missing_files_fail_in_one_line(tmp_path, clip):
    rep = verify(clip("cfr_mp4"))
    assert rep.state == "Unsigned" and not rep.ok and len(rep.lines()) == 1
    gone = verify(str(tmp_path / "nope.mp4"))
    assert gone.state == "Unreadable" and "nope.mp4" in gone.lines()[0]


def test_bad_credentials_are_one_line_config_errors(tmp_path, monkeypatch):
    key1, chain1 = make_test_chain()
    key2, _ = make_test_chain()
    (tmp_path / "k1").write_bytes(key1)
    (tmp_path / "k2").write_bytes(key2)
    (tmp_path / "c1").write_bytes(chain1)
    (tmp_path / "junk").write_bytes(b"not a pem")
    cases = [
        (str(tmp_path / "k2"), str(tmp_path / "c1"), "does not belong"),
        (str(tmp_path / "junk"), str(tmp_path / "c1"), "PEM private key"),
        (str(tmp_path / "k1"), str(tmp_path / "junk"), "not PEM certificates"),
        (str(tmp_path / "missing"), str(tmp_path / "c1"), "cannot read"),
        ("env:SEEDVR_TEST_NO_SUCH_KEY", str(tmp_path / "c1"), "SEEDVR_TEST_NO_SUCH_KEY is not set"),
    ]
    for key, chain, words in cases:
        with pytest.raises(ConfigError) as e:
            load_credential(key, chain)
        assert words in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="valid from"):
        load_credential(str(tmp_path / "k1"), str(tmp_path / "c1"),
                        now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=4000))
    monkeypatch.setenv("SEEDVR_TEST_KEY", key1.decode())
    cred = load_credential("env:SEEDVR_TEST_KEY", str(tmp_path / "c1"))
    assert cred.alg == "es256" and "BEGIN" not in repr(cred)
