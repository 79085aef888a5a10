"""The C2PA manifest definition of a restored file (a pure function of its facts).

Actions, in order: `c2pa.opened` of the source (the parent ingredient), the preparation transforms the
analysis applied, then the restoration as `c2pa.edited` with the trained-model source type and the
disclosure as its description. A custom assertion (`org.seedvr.restoration`) carries what an archive
needs to reproduce the file: preset, weights digest, config hash, run and job ids, code version.
"""

from __future__ import annotations

from typing import Any

from seedvr.provenance.facts import TRAINED_MODEL_EDIT, RestorationFacts

RESTORATION_ASSERTION = "org.seedvr.restoration"
SOURCE_INGREDIENT = "source"
SOURCE_METADATA = "org.seedvr.source"  # the ingredient's metadata key: URI, size, sha256, file version


def _agent(f: RestorationFacts) -> dict[str, str]:
    return {"name": f.software, "version": f.software_version}


def actions(f: RestorationFacts) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"action": "c2pa.opened", "parameters": {"ingredientIds": [SOURCE_INGREDIENT]}}]
    for t in f.transforms:
        out.append({"action": t.action, "softwareAgent": _agent(f), "description": t.name,
                    "parameters": {"name": t.name, **t.parameters}})
    params = {k: v for k, v in {"model": f.model, "preset": f.preset, "weights_sha256": f.weights_sha256}.items()
              if v is not None}
    if f.generative:
        out.append({"action": "c2pa.edited", "digitalSourceType": TRAINED_MODEL_EDIT, "softwareAgent": _agent(f),
                    "description": f.disclosure, "parameters": params})
    else:
        out.append({"action": "c2pa.transcoded", "softwareAgent": _agent(f),
                    "description": "resized and re-encoded without a generative model", "parameters": params})
    return out


def restoration_assertion(f: RestorationFacts) -> dict[str, Any]:
    data = {"disclosure": f.disclosure if f.generative else None, "generative": f.generative, "model": f.model, "preset": f.preset,
            "weights_sha256": f.weights_sha256, "config_hash": f.config_hash, "run_id": f.run_id,
            "job_id": f.job_id, "job_run_id": f.job_run_id, "code_version": f.code_version,
            "video_id": f.video_id, "source": {"uri": f.source.uri, "size_bytes": f.source.size_bytes,
                                               "sha256": f.source.sha256, "file_version": f.source.file_version}}
    return {"label": RESTORATION_ASSERTION, "data": {k: v for k, v in data.items() if v is not None}}


def manifest_definition(f: RestorationFacts) -> dict[str, Any]:
    """The manifest JSON c2pa's Builder takes; the source ingredient is added beside it."""
    return {
        "claim_generator_info": [{"name": f.software, "version": f.code_version}],
        "title": f.title,
        "instance_id": f.instance_id,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions(f)}},
            restoration_assertion(f),
        ],
    }


def ingredient_definition(f: RestorationFacts) -> dict[str, Any]:
    src = f.source
    meta = {k: v for k, v in {"uri": src.uri, "size_bytes": src.size_bytes, "sha256": src.sha256,
                              "file_version": src.file_version}.items() if v is not None}
    return {"title": src.uri.rstrip("/").rsplit("/", 1)[-1] or src.uri, "relationship": "parentOf",
            "label": SOURCE_INGREDIENT, "instance_id": f.source.instance_id, "metadata": {SOURCE_METADATA: meta}}
