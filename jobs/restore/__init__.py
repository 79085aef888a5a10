"""The restore job: selection, planning, waves, staging, the reducer and the summary (`seedvr-restore`)."""
