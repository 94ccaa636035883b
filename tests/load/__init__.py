"""Load: many small pipelines at once under Dagster's multiprocess executor (issue 7, "Load").

:mod:`load.loadproject` writes the project and measures a run; :mod:`load.test_concurrent_pipelines`
runs 20 and then 100 pipelines against one PostgreSQL ``SqlCatalog``.
"""
