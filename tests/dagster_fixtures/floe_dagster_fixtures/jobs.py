"""Jobs rebuilt in every step process of the multiprocess executor (``dagster.reconstructable``).

:func:`project_asset_job` loads ``definitions.py`` of the project folder named by the
environment variable :data:`PROJECT_ENV`, exactly as ``dagster dev -f definitions.py`` would,
and returns a job that materialises every asset of it (``materialize_all``).
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import dagster as dg

PROJECT_ENV = "FLOE_DAGSTER_TEST_PROJECT"


def project_asset_job() -> dg.JobDefinition:
    """Every asset of ``$FLOE_DAGSTER_TEST_PROJECT/definitions.py``, as one job."""
    namespace = runpy.run_path(str(Path(os.environ[PROJECT_ENV]) / "definitions.py"))
    definitions: dg.Definitions = namespace["defs"]
    job = dg.define_asset_job("materialize_all", selection=dg.AssetSelection.all())
    return dg.Definitions.merge(definitions, dg.Definitions(jobs=[job])).resolve_job_def(job.name)
