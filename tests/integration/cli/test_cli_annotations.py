"""``modeleval annotations export|import``: offline manual evaluation through the console."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from modeleval.cli import main
from modeleval.console.web.app import create_app
from tests.support.console import build_services, evaltask, item_records, served, standard_kube


def test_export_fill_import_complete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kube = standard_kube()
    obj = evaltask("judged", models=("a",), manual=("fluency",), state="RunningWithManualBegin")
    kube.tasks[("team", "judged")] = obj
    services = build_services(f"sqlite:///{tmp_path / 'console.db'}", kube)
    try:
        task_id = services.store.upsert_task(obj, phase="infer")
        services.store.ingest_items(task_id, 0, item_records(3, ("a",)))
        services.store.complete_ingest(task_id, 3)
        services.mirror.run_once()
        with served(create_app(services)) as url:
            common = ["-n", "team", "--console", url]
            sheet = tmp_path / "items.csv"
            assert (
                main(["annotations", "export", "judged", str(sheet), *common, "--token", "viewer"])
                == 0
            )
            assert "wrote 3 rows" in capsys.readouterr().out
            rows = list(csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8"))))
            for row in rows:
                row.update(satisfaction="4", fluency="5")
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
            sheet.write_text(out.getvalue(), encoding="utf-8")
            refused = main(
                ["annotations", "import", "judged", str(sheet), *common, "--token", "viewer"]
            )
            assert refused == 1 and "403" in capsys.readouterr().err
            done = main(
                ["annotations", "import", "judged", str(sheet), *common, "--token", "editor",
                 "--complete"]
            )  # fmt: skip
            assert done == 0
            printed = capsys.readouterr().out
            assert "3 new, 0 replaced; 3 of 3 items annotated" in printed
            assert "annotation marked complete" in printed
        [(_, _, status)] = kube.patches
        assert status["manual"]["pending"] is False and status["manual"]["completedBy"] == "eddie"
    finally:
        services.close()
