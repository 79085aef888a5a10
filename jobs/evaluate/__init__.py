"""Paired evaluation of presets: restore, score, report (`seedvr-evaluate`)."""
