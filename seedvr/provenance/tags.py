"""Plain container metadata for players and tools that ignore C2PA: title, comment, encoder and an
`AIGC` label (the implicit-label field that AI-content labelling rules ask for, as JSON)."""

from __future__ import annotations

import json

from seedvr.provenance.facts import RestorationFacts


def container_tags(f: RestorationFacts) -> dict[str, str]:
    aigc = {"Label": "1", "ContentProducer": f"{f.software} {f.code_version}", "ProduceID": f.instance_id,
            "Model": f.model, "Preset": f.preset, "RunID": f.run_id}
    return {
        "title": f.title,
        "comment": f.disclosure,
        "encoder": f"{f.software} {f.code_version} ({f.preset})",
        "description": f"AI-restored from {f.source.uri}",
        "AIGC": json.dumps(aigc, sort_keys=True, separators=(",", ":")),
    }
