"""Plain container metadata for players and tools that ignore C2PA: title, comment, encoder and an
`AIGC` label (the implicit-label field that AI-content labelling rules ask for, as JSON)."""

from __future__ import annotations

import json

from seedvr.provenance.facts import RestorationFacts


def container_tags(f: RestorationFacts) -> dict[str, str]:
    tags = {
        "title": f.title,
        "comment": f.disclosure if f.generative else "Resized and re-encoded without a generative model.",
        "encoder": f"{f.software} {f.code_version} ({f.preset})",
        "description": f"{'AI-restored' if f.generative else 'Re-encoded'} from {f.source.uri}",
    }
    if f.generative:
        aigc = {"Label": "1", "ContentProducer": f"{f.software} {f.code_version}", "ProduceID": f.instance_id,
                "Model": f.model, "Preset": f.preset, "RunID": f.run_id}
        tags["AIGC"] = json.dumps(aigc, sort_keys=True, separators=(",", ":"))
    return tags
