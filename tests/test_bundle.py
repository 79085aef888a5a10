"""The Databricks bundle, checked offline: schema of every job, targets, references, entry points, crons.

`databricks bundle validate` needs a workspace; these tests need none. Each job goes through the typed
models of `databricks-bundles` (unknown or misspelt fields and bad enum values are refused), and the
rest is checked against the repository: console scripts, notebooks, profiles and variables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from croniter import croniter

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
VAR_REF = re.compile(r"\$\{var\.([A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z0-9_.\[\]]+)?\}")
JOB_PARAM_REF = re.compile(r"\{\{job\.parameters\.([A-Za-z_][A-Za-z0-9_]*)\}\}")


# ------------------------------------------------------------------------------------------ loading


def load_bundle() -> dict[str, Any]:
    """databricks.yml with its `include` globs merged in, as the CLI assembles it."""
    bundle = yaml.safe_load((ROOT / "databricks.yml").read_text())
    bundle.setdefault("resources", {})
    for pattern in bundle.get("include", []):
        files = sorted(glob.glob(str(ROOT / pattern)))
        assert files, f"include pattern {pattern!r} matches no file"
        for f in files:
            doc = yaml.safe_load(Path(f).read_text())
            assert set(doc) <= {"resources", "variables", "targets"}, f"{f}: unexpected top-level keys"
            for kind, items in doc.get("resources", {}).items():
                overlap = set(items) & set(bundle["resources"].get(kind, {}))
                assert not overlap, f"{f}: {kind} {overlap} defined twice"
                bundle["resources"].setdefault(kind, {}).update(items)
    return bundle


BUNDLE = load_bundle()
JOBS: dict[str, dict[str, Any]] = BUNDLE["resources"]["jobs"]
SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def variables_for(target: str) -> dict[str, Any]:
    """Variable values as the CLI resolves them for `target`: the target's value, else the default."""
    out = {k: v.get("default") for k, v in BUNDLE["variables"].items()}
    out.update(BUNDLE["targets"][target].get("variables", {}) or {})
    return out


def resolve(value: Any, target: str, job_params: dict[str, str] | None = None) -> Any:
    """Substitute bundle variables, `${bundle.*}`, `${workspace.*}` and the job's dynamic references."""
    if isinstance(value, dict):
        return {k: resolve(v, target, job_params) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, target, job_params) for v in value]
    if not isinstance(value, str):
        return value
    variables = variables_for(target)
    whole = VAR_REF.fullmatch(value)
    if whole and "." not in value[len("${var."):-1]:
        # A whole-value reference keeps the variable's type, as in the CLI.
        return resolve(variables[whole.group(1)], target, job_params)
    for _ in range(3):  # values may refer to ${workspace...} in turn
        value = VAR_REF.sub(lambda m: str(variables[m.group(1)]), value)
        value = value.replace("${bundle.target}", target).replace("${bundle.name}", BUNDLE["bundle"]["name"])
        value = value.replace("${workspace.current_user.short_name}", "someone")
        value = value.replace("${workspace.file_path}", "/Workspace/Users/someone/.bundle/files")
    if job_params is not None:
        value = JOB_PARAM_REF.sub(lambda m: job_params[m.group(1)], value)
        value = value.replace("{{job.run_id}}", "1234").replace("{{job.id}}", "56")
    return value


def job_params(job: dict[str, Any], target: str, **overrides: str) -> dict[str, str]:
    params = {p["name"]: str(resolve(p["default"], target)) for p in job.get("parameters", [])}
    params.update(overrides)
    return params


def wheel_tasks() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(name, job, t) for name, job in JOBS.items() for t in job["tasks"] if "python_wheel_task" in t]


def all_strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in all_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in all_strings(v)]
    return [node] if isinstance(node, str) else []


# ------------------------------------------------------------------------------------------ schema


@pytest.mark.parametrize("name", sorted(JOBS))
def test_job_matches_the_bundle_schema(name: str) -> None:
    from databricks.bundles.jobs import Job

    job = Job.from_dict(JOBS[name])  # raises on unknown fields, missing required ones, bad enum values
    assert job.tasks, f"job {name} has no task"


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_job_with_the_target_variables_resolved_matches_the_schema(target: str) -> None:
    """Values that arrive through variables (enums such as pause_status, counts) are checked too."""
    from databricks.bundles.jobs import Job

    for name, job in JOBS.items():
        resolved = resolve(job, target)
        assert "${var." not in str(resolved), name
        Job.from_dict(resolved)


def test_schema_check_refuses_a_misspelt_field() -> None:
    """Guards the guard: the typed model must reject what the CLI would reject."""
    from databricks.bundles.jobs import Job

    bad = dict(next(iter(JOBS.values())))
    bad["max_concurent_runs"] = 1
    with pytest.raises(ValueError, match="max_concurent_runs"):
        Job.from_dict(bad)


def test_bundle_has_name_artifact_and_includes() -> None:
    assert BUNDLE["bundle"]["name"]
    artifacts = BUNDLE["artifacts"]
    assert [a["type"] for a in artifacts.values()] == ["whl"]
    build = next(iter(artifacts.values()))["build"]
    outdir = re.search(r"--outdir\s+(\S+)", build)
    assert outdir, "the wheel build must name its output folder, which the tasks' libraries point at"
    for name, _job, task in wheel_tasks():
        whl = [lib["whl"] for lib in task["libraries"]]
        assert whl == [f"../{outdir.group(1)}/*.whl"], f"{name}/{task['task_key']} installs {whl}"


# ------------------------------------------------------------------------------------------ targets


def test_bundle_keeps_the_project_rules() -> None:
    """Workspace host per target, production permissions, dedicated access mode, a small driver."""
    from jobs.databricks.bundle_check import check_bundle

    assert check_bundle(BUNDLE) == []


def test_prod_permissions_go_to_groups_and_the_service_principal() -> None:
    perms = BUNDLE["targets"]["prod"]["permissions"]
    assert {"level": "CAN_MANAGE", "service_principal_name": BUNDLE["targets"]["prod"]["run_as"][
        "service_principal_name"]} in perms
    assert all("user_name" not in p for p in perms)
    assert {resolve(p.get("group_name"), "prod") for p in perms} >= {"users", variables_for("prod")["operators_group"]}


def test_targets_dev_and_prod_have_their_modes() -> None:
    targets = BUNDLE["targets"]
    assert targets["dev"]["mode"] == "development" and targets["dev"].get("default") is True
    prod = targets["prod"]
    assert prod["mode"] == "production"
    assert VAR_REF.fullmatch(prod["run_as"]["service_principal_name"]), "prod must run as a service principal"
    assert "${var." in prod["workspace"]["root_path"], "prod root must not depend on who deploys"


# Workspace-specific values given at deploy time (`--var name=...` or BUNDLE_VAR_name), so the
# CLI refuses a production deploy that forgot them.
DEPLOY_TIME = {"prod": {"service_principal"}}


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_every_variable_has_a_value_in_every_target(target: str) -> None:
    values = variables_for(target)
    unset = {k for k, v in values.items() if v is None}
    assert unset == DEPLOY_TIME.get(target, set()), f"target {target} leaves required variables unset"
    readme = (ROOT / "README.md").read_text()
    for name in unset:
        assert f"--var {name}=" in readme, f"README must tell how to pass {name} at deploy time"


def test_every_variable_reference_is_declared_and_every_variable_used() -> None:
    texts = [(ROOT / "databricks.yml").read_text()]
    texts += [Path(f).read_text() for p in BUNDLE["include"] for f in glob.glob(str(ROOT / p))]
    used = {m.group(1) for t in texts for m in VAR_REF.finditer(t)}
    declared = set(BUNDLE["variables"])
    assert used - declared == set(), f"undeclared variables: {sorted(used - declared)}"
    assert declared - used == set(), f"variables no resource uses: {sorted(declared - used)}"
    for target in BUNDLE["targets"].values():
        assert set(target.get("variables", {})) <= declared


def test_job_parameter_references_exist() -> None:
    for name, job in JOBS.items():
        declared = {p["name"] for p in job.get("parameters", [])}
        used = {m.group(1) for s in all_strings(job["tasks"]) for m in JOB_PARAM_REF.finditer(s)}
        assert used <= declared, f"job {name} refers to undeclared parameters {sorted(used - declared)}"


def test_no_credentials_in_bundle_or_profiles() -> None:
    files = [ROOT / "databricks.yml", *ROOT.glob("resources/*.yml"), *ROOT.glob("conf/databricks_*.yaml")]
    pattern = re.compile(r"(token|password|secret_key|access_key|dapi[0-9a-f]{8})\s*[:=]", re.I)
    for f in files:
        assert not pattern.search(f.read_text()), f"{f.name} looks like it holds a credential"


# ------------------------------------------------------------------------------------------ entry points


@pytest.mark.parametrize("entry_point", sorted({t["python_wheel_task"]["entry_point"] for _, _, t in wheel_tasks()}))
def test_entry_point_is_a_console_script_that_resolves(entry_point: str) -> None:
    assert entry_point in SCRIPTS, f"{entry_point} is not in pyproject.toml [project.scripts]"
    module, func = SCRIPTS[entry_point].split(":")
    assert callable(getattr(importlib.import_module(module), func))


def test_wheel_tasks_name_the_project_distribution() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    for _, _, task in wheel_tasks():
        assert re.sub(r"[-_.]+", "-", task["python_wheel_task"]["package_name"]) == project


class _Parsed(Exception):
    def __init__(self, ns: argparse.Namespace) -> None:
        self.ns = ns


def parse_with_entry_point(entry_point: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> argparse.Namespace:
    """Run the console script until its arguments are parsed, then stop: no session, no model."""
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self: argparse.ArgumentParser, args: Any = None, namespace: Any = None) -> Any:
        raise _Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_and_stop)
    monkeypatch.setattr(sys, "argv", [entry_point, *argv])
    module, func = SCRIPTS[entry_point].split(":")
    main = getattr(importlib.import_module(module), func)
    with pytest.raises(_Parsed) as parsed:
        main(argv) if inspect.signature(main).parameters else main()
    return parsed.value.ns


@pytest.mark.parametrize("target", ["dev", "prod"])
@pytest.mark.parametrize(("job", "task"), [(n, t["task_key"]) for n, _, t in wheel_tasks()])
def test_task_parameters_are_accepted_by_the_console_script(
    job: str, task: str, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = next(t for t in JOBS[job]["tasks"] if t["task_key"] == task)["python_wheel_task"]
    params = job_params(JOBS[job], target, date_from="2026-01-01", date_to="2026-01-31", content_class="ai")
    argv = resolve(spec["parameters"], target, params)
    ns = parse_with_entry_point(spec["entry_point"], argv, monkeypatch)
    values = variables_for(target)
    assert vars(ns).get("catalog") in (None, values["catalog"])
    if getattr(ns, "profile", None):
        from jobs.cli import config_from_args

        cfg = config_from_args(ns)  # the configuration the task would run with
        assert cfg.profile == f"databricks_{target}"
        assert cfg.engine.kind == "active", "on a cluster the job must use the cluster's session"
        assert (cfg.tables.root, cfg.tables.catalog, cfg.tables.schema_) == (None, values["catalog"],
                                                                             resolve(values["schema"], target))
        if hasattr(ns, "preset"):
            assert cfg.model.preset == values["preset"] and cfg.model.weights == values["weights_root"]
            assert cfg.execution.gpu_slots == int(values["gpu_slots"])
            assert cfg.storage.output_root == resolve(values["output_root"], target)


def test_readme_lists_every_job() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Deploy on Databricks"):]
    for name in JOBS:
        assert f"`{name}`" in section, f"README's Deploy on Databricks does not mention job {name}"
        assert f"databricks bundle run -t dev {name}" in section, f"README shows no run of {name}"


def test_runs_carry_the_job_run_id_for_provenance() -> None:
    for name, _job, task in wheel_tasks():
        if task["python_wheel_task"]["entry_point"] == "seedvr-restore":
            assert any("{{job.run_id}}" in p for p in task["python_wheel_task"]["parameters"]), name
    for name, job in JOBS.items():
        if any("notebook_task" in t for t in job["tasks"]):
            defaults = {p["name"]: p["default"] for p in job["parameters"]}
            assert defaults.get("job_run_id") == "{{job.run_id}}", name


def test_every_job_starts_with_the_preflight() -> None:
    for name, job in JOBS.items():
        tasks = {t["task_key"]: t for t in job["tasks"]}
        assert tasks["preflight"]["python_wheel_task"]["entry_point"] == "seedvr-preflight", name
        for key, task in tasks.items():
            if key != "preflight":
                assert task.get("depends_on"), f"{name}/{key} may start before the preflight"


# ------------------------------------------------------------------------------------------ notebooks


def test_notebook_tasks_point_at_databricks_notebooks_whose_widgets_are_job_parameters() -> None:
    for name, job in JOBS.items():
        for task in job["tasks"]:
            if "notebook_task" not in task:
                continue
            path = (ROOT / "resources" / task["notebook_task"]["notebook_path"]).resolve()
            assert path.is_file(), f"{name}: notebook {path} is missing"
            text = path.read_text()
            assert text.startswith("# Databricks notebook source\n")
            widgets = set(re.findall(r"""widget\(\s*["']([A-Za-z_]+)["']""", text))
            assert widgets, f"{path.name} declares no widget"
            missing = widgets - {p["name"] for p in job["parameters"]}
            assert not missing, f"{name}: widgets without a job parameter: {sorted(missing)}"


# ------------------------------------------------------------------------------------------ schedule


def quartz_to_croniter(expr: str) -> str:
    """Quartz `sec min hour dom month dow [year]` -> croniter with seconds first; raises on bad syntax."""
    fields = expr.split()
    if len(fields) not in (6, 7):
        raise ValueError(f"quartz cron needs 6 or 7 fields, got {len(fields)}: {expr!r}")
    sec, minute, hour, dom, month, dow = fields[:6]
    if (dom == "?") == (dow == "?"):
        raise ValueError(f"quartz cron needs '?' in exactly one of day-of-month and day-of-week: {expr!r}")
    if len(fields) == 7 and not re.fullmatch(r"\*|\d{4}(-\d{4})?", fields[6]):
        raise ValueError(f"bad quartz year field {fields[6]!r}")
    # Quartz numbers weekdays 1-7 from Sunday, cron 0-6.
    dow = re.sub(r"\d", lambda m: str(int(m.group()) - 1), dow)
    out = " ".join(f.replace("?", "*") for f in (sec, minute, hour, dom, month, dow))
    if not croniter.is_valid(out, second_at_beginning=True):
        raise ValueError(f"invalid cron {expr!r}")
    return out


def test_quartz_parser_refuses_bad_expressions() -> None:
    for bad in ["0 2 * * *", "0 0 2 * * * ?", "0 0 25 * * ?", "0 0 2 ? * ?"]:
        with pytest.raises(ValueError):
            quartz_to_croniter(bad)


def test_nightly_job_is_scheduled_once_a_day_in_utc_without_overlap() -> None:
    job = JOBS["restore_nightly"]
    schedule = job["schedule"]
    assert schedule["timezone_id"] == "UTC"
    it = croniter(quartz_to_croniter(schedule["quartz_cron_expression"]),
                  dt.datetime(2026, 3, 28, tzinfo=dt.timezone.utc), second_at_beginning=True)
    first, second = it.get_next(dt.datetime), it.get_next(dt.datetime)
    assert second - first == dt.timedelta(days=1)
    assert job["max_concurrent_runs"] == 1
    assert job["timeout_seconds"] > 0
    assert VAR_REF.fullmatch(job["email_notifications"]["on_failure"])
    assert resolve(schedule["pause_status"], "dev") == "PAUSED"
    assert resolve(schedule["pause_status"], "prod") == "UNPAUSED"


def test_gpu_tasks_retry_after_a_pause_and_time_out() -> None:
    for name, _job, task in wheel_tasks():
        assert task.get("timeout_seconds", 0) > 0, f"{name}/{task['task_key']} has no timeout"
        if task["python_wheel_task"]["entry_point"] == "seedvr-restore":
            assert task["max_retries"] >= 1 and task["min_retry_interval_millis"] >= 60_000


# ------------------------------------------------------------------------------------------ cluster


def job_clusters() -> list[tuple[str, dict[str, Any]]]:
    return [(n, c["new_cluster"]) for n, job in JOBS.items() for c in job.get("job_clusters", [])]


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_gpu_cluster_schedules_one_gpu_per_task_without_aqe_coalescing(target: str) -> None:
    from jobs.databricks import bundle_check, sizing

    for name, raw in job_clusters():
        cluster = resolve(raw, target)
        version = re.fullmatch(r"(\d+)\.(\d+)\.x-scala2\.13", cluster["spark_version"])
        assert version and int(version.group(1)) >= 17, f"{name}: not a Spark 4 runtime release"
        assert cluster["use_ml_runtime"] is True and cluster["kind"] == "CLASSIC_PREVIEW", name
        assert cluster["data_security_mode"] == "DATA_SECURITY_MODE_DEDICATED"
        node = sizing.get_node_type(cluster["node_type_id"])
        bundle_check.check_driver_node(cluster["driver_node_type_id"], cluster["node_type_id"])
        conf = cluster["spark_conf"]
        assert conf["spark.task.resource.gpu.amount"] == "1"
        assert int(conf["spark.executor.resource.gpu.amount"]) == node.gpus
        assert conf["spark.speculation"] == "false"
        assert conf["spark.sql.adaptive.coalescePartitions.enabled"] == "false"
        assert int(cluster["num_workers"]) * node.gpus >= int(variables_for(target)["gpu_slots"])


def test_all_jobs_share_one_cluster_definition() -> None:
    clusters = job_clusters()
    assert len(clusters) == len(JOBS)
    first = clusters[0][1]
    for name, cluster in clusters[1:]:
        assert cluster == first, f"job {name} drifted from the shared GPU cluster definition"


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_target_preset_fits_its_node_type(target: str) -> None:
    from jobs.databricks import sizing

    values = variables_for(target)
    sizing.check_preset_fits(values["preset"], values["gpu_node_type"])


# ------------------------------------------------------------------------------------------ backfill


def test_backfill_takes_a_date_range_and_content_class_and_requires_dates() -> None:
    job = JOBS["restore_backfill"]
    names = {p["name"] for p in job["parameters"]}
    assert {"date_from", "date_to", "content_class"} <= names
    by_key = {t["task_key"]: t for t in job["tasks"]}
    preflight = by_key["preflight"]["python_wheel_task"]["parameters"]
    assert "--require=date_from,date_to" in preflight
    restore = by_key["restore"]
    assert {"task_key": "preflight"} in restore["depends_on"]
    args = " ".join(restore["python_wheel_task"]["parameters"])
    for flag in ("--date-from", "--date-to", "--content-class"):
        assert flag in args
    # Idempotence relies on the restore skipping finished work; nothing may ask it to redo work.
    assert not re.search(r"--(force|overwrite|rerun)", args)


def test_cluster_finds_the_profiles_in_the_synced_bundle_files() -> None:
    """Jobs read the profiles from the bundle's synced files (editable in the workspace), not the wheel's copies."""
    import subprocess

    for name, cluster in job_clusters():
        conf_dir = cluster["spark_env_vars"]["SEEDVR_CONF_DIR"]
        assert conf_dir == "${workspace.file_path}/conf", name
    for target in BUNDLE["targets"]:
        path = ROOT / "conf" / f"databricks_{target}.yaml"
        assert path.is_file()
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT, check=False)
        assert ignored.returncode == 1, f"{path.name} is git-ignored, so the bundle would not sync it"


# ------------------------------------------------------------------------------------------ idempotence


def run_wheel_task(job: str, task: str, target: str, params: dict[str, str], flags: dict[str, str]) -> int:
    """Call a task's console script with the task's own parameter list, as Databricks would.

    `params` are run-time job parameters (`--params k=v`); `flags` replace bundle-level values that
    point at the workspace (profile, ingest folder) with local ones.
    """
    spec = next(t for t in JOBS[job]["tasks"] if t["task_key"] == task)["python_wheel_task"]
    argv = resolve(spec["parameters"], target, job_params(JOBS[job], target, **params))
    argv = [f"{a.split('=', 1)[0]}={flags[a.split('=', 1)[0]]}" if a.split("=", 1)[0] in flags else a
            for a in argv]
    module, func = SCRIPTS[spec["entry_point"]].split(":")
    return getattr(importlib.import_module(module), func)(argv)


def test_backfill_run_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    from jobs.config import load_config
    from jobs.engine import session
    from jobs.tables import table_refs
    from seedvr.synthetic.catalog import make_sample_catalog

    make_sample_catalog(tmp_path / "clips", clips=2, frames=9, size=(32, 48), audio=False)
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump({
        "extends": "local",
        "tables": {"root": str(tmp_path / "tables")},
        "storage": {"output_root": str(tmp_path / "out"), "work_dir": str(tmp_path / "work")},
        "segments": {"segment_frames": 5, "context_frames": 1},
        "execution": {"gpu_slots": 1, "stitch_slots": 1, "probe_slots": 1},
        "tracking": {"enabled": False},
        "ingest": {"content_class": "archive"},
    }))
    local = {"--profile": str(profile), "--source": str(tmp_path / "clips" / "lq")}
    # Local runs take the profile's tables and output root: the workspace values are blanked at run time.
    params = {"catalog": "", "schema": "", "weights_root": "", "output_root": "", "preset": "identity"}
    assert run_wheel_task("restore_nightly", "ingest", "dev", params, local) == 0

    today = dt.datetime.now(dt.timezone.utc).date()
    window = {"date_from": str(today - dt.timedelta(days=1)), "date_to": str(today + dt.timedelta(days=1)),
              "content_class": "archive"}

    def restorations() -> Any:
        with session(load_config(str(profile)).engine) as eng:
            pdf = table_refs(load_config(str(profile)).tables).restorations.read(eng.spark).toPandas()
        return pdf[["video_id", "status", "run_id", "output_uri", "output_sha256"]].sort_values("video_id")

    assert run_wheel_task("restore_backfill", "restore", "dev", {**params, **window}, local) == 0
    first = restorations()
    assert len(first) == 2 and set(first["status"]) == {"ok"}
    assert run_wheel_task("restore_backfill", "restore", "dev", {**params, **window}, local) == 0
    assert restorations().reset_index(drop=True).equals(first.reset_index(drop=True))
