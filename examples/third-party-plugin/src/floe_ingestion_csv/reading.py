"""Reading a CSV or JSON-lines file, from the project folder or an http(s) URL, as arrow."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv
import pyarrow.json
import requests

from floe_core.secrets import Secret


def read_batches(
    location: str, file_format: str, *, project_dir: Path, token: Secret | None
) -> Iterator[pa.RecordBatch]:
    """The file's rows as record batches; column types are inferred (numbers stay numbers)."""
    if location.startswith(("http://", "https://")):
        headers = {"Authorization": f"Bearer {token.reveal()}"} if token else {}
        response = requests.get(location, headers=headers, timeout=60)
        response.raise_for_status()
        data = io.BytesIO(response.content)
    else:
        data = io.BytesIO((project_dir / location).read_bytes())
    if file_format == "jsonl":
        yield from pyarrow.json.read_json(data).to_batches()
    else:
        yield from pyarrow.csv.open_csv(data)
