"""`floe`: the command line of floe ingestion (typer + rich).

Commands::

    floe plugins  [--json] [--debug]                       installed ingestion plugins
    floe validate [-p PROJECT] [NAME...] [--no-catalog] [--json] [--debug]
    floe run      [-p PROJECT] [NAME...] [--json] [--debug]
    floe schema   [floe.yaml | platform-manifest.yaml] [--output DIR]

Exit codes (documented in ``docs/cli.md``):

* ``0``: success (``floe validate``: the project is valid; ``floe run``: every pipeline ran);
* ``1``: ``floe run`` ran and at least one pipeline failed (the results say why);
* ``2``: invalid input: the project files, a secret, a plugin, the catalog (``validate``), an
  unknown pipeline name or a bad command line; nothing was run;
* ``3``: floe itself failed unexpectedly (a bug: rerun with ``--debug`` and report it);
* ``130``: interrupted (Ctrl-C).

Human output goes to the terminal with rich (tables on stdout, progress and errors on stderr);
``--json`` prints one JSON document on stdout instead. Errors are one paragraph; ``--debug``
adds the traceback and debug logging. Every line floe prints passes through the project's
secret redactor.

Tests build an app around their own plugin registry with :func:`create_app`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from floe_core.errors import IngestionException
from floe_core.project.problems import ProjectError
from floe_core.secrets import RedactingFilter, Redactor

if TYPE_CHECKING:
    from floe_core.config import IngestionConfig
    from floe_core.project import Project
    from floe_core.registry import PluginRegistry
    from floe_core.result import IngestionResult

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "app",
    "create_app",
    "main",
]

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_INVALID = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

ProjectOption = Annotated[
    Path,
    typer.Option(
        "--project",
        "-p",
        help="The project folder (holding floe.yaml and, optionally, platform-manifest.yaml).",
    ),
]
NamesArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Pipeline names (default: every pipeline of floe.yaml).", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
DebugOption = Annotated[
    bool, typer.Option("--debug", help="Show tracebacks and debug logs on stderr.")
]


class _Output:
    """Where and how a command prints: rich or JSON, with every string redacted."""

    def __init__(self, *, as_json: bool, debug: bool) -> None:
        self.as_json = as_json
        self.debug = debug
        self.redactor = Redactor()
        self.out = Console(highlight=False, soft_wrap=False)
        self.err = Console(stderr=True, highlight=False)
        self.log_handler: logging.Handler | None = None

    def use_redactor(self, redactor: Redactor) -> None:
        """Mask ``redactor``'s secrets too (a project's, once it is loaded), logs included."""
        self.redactor = redactor
        if self.log_handler is not None:
            self.log_handler.addFilter(RedactingFilter(redactor))

    def text(self, text: str) -> str:
        return self.redactor.redact(text)

    def line(self, text: str, *, style: str | None = None, err: bool = False) -> None:
        console = self.err if err else self.out
        console.print(self.text(text), style=style, markup=False, soft_wrap=True)

    def json(self, data: Any) -> None:
        text = json.dumps(self.redactor.redact_data(data), indent=2, default=str)
        typer.echo(self.text(text))

    def table(self, table: Table) -> None:
        self.out.print(table)

    def error(self, exc: BaseException) -> None:
        """One paragraph (or a JSON object) saying what is wrong and what to do."""
        if self.as_json:
            self.json(_error_document(exc))
        else:
            label = "error"
            if isinstance(exc, IngestionException):
                label += f" [{exc.error.category.value}/{exc.code.value}]"
            self.line(f"{label}: {_exception_text(exc)}", style="red", err=True)
            hint = _hint(exc)
            if hint:
                self.line(hint, err=True)
        if self.debug:
            trace = "".join(traceback.format_exception(exc))
            self.line(trace, err=True)


@contextmanager
def _command(as_json: bool, debug: bool) -> Iterator[_Output]:
    """Run a command body: logging to stderr, errors told in one paragraph, exit codes."""
    output = _Output(as_json=as_json, debug=debug)
    handler = output.log_handler = _log_handler(output, debug)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    if debug:
        root.setLevel(logging.DEBUG)
    try:
        yield output
    except typer.Exit:
        raise
    except (ProjectError, IngestionException) as exc:
        output.error(exc)
        raise typer.Exit(EXIT_INVALID) from None
    except KeyboardInterrupt:
        output.line("interrupted", style="red", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        output.error(_InternalError(exc))
        raise typer.Exit(EXIT_INTERNAL) from None
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


class _InternalError(Exception):
    """An unexpected exception, told as a bug."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause
        self.__traceback__ = cause.__traceback__


def _log_handler(output: _Output, debug: bool) -> logging.Handler:
    from rich.logging import RichHandler

    handler = RichHandler(
        console=output.err, show_time=False, show_path=False, markup=False, rich_tracebacks=False
    )
    handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    handler.addFilter(RedactingFilter(output.redactor))
    if not debug:
        handler.addFilter(_without_run_failures)
    return handler


def _without_run_failures(record: logging.LogRecord) -> bool:
    """Drop the runner's own failure records: `floe run` tells each failure itself."""
    return not (record.name == "floe.runner" and record.levelno >= logging.ERROR)


def create_app(
    *,
    registry_factory: Callable[[], PluginRegistry] | None = None,
    environ: Mapping[str, str] | None = None,
) -> typer.Typer:
    """The ``floe`` application; ``registry_factory`` makes the plugin registry of a command
    (default: the installed ``floe.ingestion`` entry points), ``environ`` is where secrets are
    read (default ``os.environ``)."""

    def new_registry() -> PluginRegistry:
        if registry_factory is not None:
            return registry_factory()
        from floe_core.registry import PluginRegistry

        return PluginRegistry()

    def load(project_dir: Path, output: _Output) -> Project:
        from floe_core.project import Project

        project = Project.load(project_dir, registry=new_registry(), environ=environ)
        output.use_redactor(project.redactor)
        return project

    app = typer.Typer(
        name="floe",
        help="floe ingestion: load data from sources into Apache Iceberg tables, through "
        "plugins. Exit codes: 0 ok, 1 a pipeline failed, 2 invalid input, 3 internal error.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        version: Annotated[
            bool,
            typer.Option(
                "--version",
                help="Print floe's version and exit.",
                is_eager=True,
                callback=_print_version,
            ),
        ] = False,
    ) -> None:
        """floe ingestion."""

    @app.command("plugins")
    def plugins_command(as_json: JsonOption = False, debug: DebugOption = False) -> None:
        """List the installed ingestion plugins and their status (broken ones with why)."""
        with _command(as_json, debug) as output:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the table shows what the warnings would say
                infos = new_registry().list()
            if as_json:
                output.json([dataclasses.asdict(info) for info in infos])
                return
            if not infos:
                output.line(
                    "No ingestion plugins are installed. Install one, e.g. "
                    "`pip install floe-ingestion-dlt`."
                )
                return
            table = Table(title="Ingestion plugins")
            for column in ("name", "version", "external", "distribution", "status"):
                table.add_column(column, overflow="fold")
            for info in infos:
                external = (
                    "?" if info.is_external is None else ("yes" if info.is_external else "no")
                )
                status = info.status if info.ok else f"[red]{info.status}[/red]"
                table.add_row(
                    info.name,
                    info.version or "?",
                    external,
                    info.distribution or f"({info.origin})",
                    status,
                )
            output.table(table)
            for info in infos:
                if info.error:
                    output.line(f"✗ {info.name}: {info.error}", style="red")

    @app.command("validate")
    def validate_command(
        names: NamesArgument = None,
        project_dir: ProjectOption = Path("."),
        no_catalog: Annotated[
            bool, typer.Option("--no-catalog", help="Do not contact the catalog.")
        ] = False,
        as_json: JsonOption = False,
        debug: DebugOption = False,
    ) -> None:
        """Check a project: files, plugins, secrets, lineage, catalog, pipelines. Lists every
        problem; exit code 2 when there is any."""
        with _command(as_json, debug) as output:
            try:
                project = load(project_dir, output)
            except ProjectError as exc:
                _report_problems(output, str(project_dir), exc)
                raise typer.Exit(EXIT_INVALID) from None
            report = project.validate(names, catalog=not no_catalog)
            if as_json:
                output.json(report.to_dict())
            else:
                for line in report.checked:
                    output.line(f"✓ {line}", style="green")
                for problem in report.problems:
                    output.line(f"✗ {problem} ({problem.code.value})", style="red")
                if report.ok:
                    output.line(
                        f"project {project.project_dir}: valid "
                        f"({len(report.pipelines)} pipeline(s))",
                        style="bold green",
                    )
                else:
                    output.line(
                        f"project {project.project_dir}: {len(report.problems)} problem(s) found",
                        style="bold red",
                    )
            if not report.ok:
                raise typer.Exit(EXIT_INVALID)

    @app.command("run")
    def run_command(
        names: NamesArgument = None,
        project_dir: ProjectOption = Path("."),
        as_json: JsonOption = False,
        debug: DebugOption = False,
    ) -> None:
        """Run pipelines (default: all) through the runner: retry, lineage, metrics. Exit code
        1 when any pipeline failed, 2 when the project is invalid (then nothing runs)."""
        with _command(as_json, debug) as output:
            project = load(project_dir, output)
            results = _run_with_progress(project, names, output)
            if as_json:
                output.json([result.to_dict() for result in results])
            else:
                output.table(_summary_table(results))
            if any(not result.success for result in results):
                raise typer.Exit(EXIT_RUN_FAILED)

    @app.command("schema")
    def schema_command(
        file: Annotated[
            str | None,
            typer.Argument(help="floe.yaml or platform-manifest.yaml", show_default=False),
        ] = None,
        output_dir: Annotated[
            Path | None,
            typer.Option("--output", "-o", help="Write both schema files into this folder."),
        ] = None,
    ) -> None:
        """Print the JSON schema of floe.yaml or platform-manifest.yaml (for editors)."""
        from floe_core.project.schemas import SCHEMA_DIR, render_schema, write_schemas

        with _command(False, False) as output:
            if output_dir is not None:
                for path in write_schemas(output_dir):
                    output.line(f"wrote {path}")
                return
            names = {"floe.yaml": "floe.schema.json"}
            names["platform-manifest.yaml"] = "platform-manifest.schema.json"
            if file not in names:
                output.line(
                    "name the file: `floe schema floe.yaml` or `floe schema "
                    f"platform-manifest.yaml` (shipped in {SCHEMA_DIR})",
                    err=True,
                )
                raise typer.Exit(EXIT_INVALID)
            typer.echo(render_schema(names[file]), nl=False)

    return app


def _print_version(value: bool) -> None:
    if value:
        from floe_core import __version__

        typer.echo(f"floe {__version__}")
        raise typer.Exit(EXIT_OK)


def _report_problems(output: _Output, project: str, exc: ProjectError) -> None:
    if output.as_json:
        output.json(
            {
                "valid": False,
                "project": project,
                "pipelines": [],
                "problems": [problem.to_dict() for problem in exc.problems],
                "checked": [],
            }
        )
        return
    for problem in exc.problems:
        output.line(f"✗ {problem} ({problem.code.value})", style="red")
    output.line(f"project {project}: {len(exc.problems)} problem(s) found", style="bold red")


def _run_with_progress(
    project: Project, names: list[str] | None, output: _Output
) -> list[IngestionResult]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    configs = project.select(names)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=output.err,
        transient=True,
        disable=output.as_json,
    )
    task = progress.add_task("starting", total=len(configs))

    def started(config: IngestionConfig) -> None:
        progress.update(task, description=f"{config.name} ({config.plugin})")

    def finished(config: IngestionConfig, result: IngestionResult) -> None:
        progress.advance(task)
        if output.as_json:
            return
        if result.success:
            output.line(
                f"✓ {config.name}: {result.rows_loaded} rows into "
                f"{', '.join(t.identifier for t in result.tables) or config.destination_table} "
                f"in {result.duration_seconds:.2f} s",
                style="green",
                err=True,
            )
        else:
            output.line(f"✗ {config.name}: {result.error}", style="red", err=True)

    with progress:
        return project.run(
            [config.name for config in configs], on_start=started, on_result=finished
        )


def _summary_table(results: list[IngestionResult]) -> Table:
    table = Table(title="Ingestion runs")
    for column, justify in (
        ("pipeline", "left"),
        ("plugin", "left"),
        ("status", "left"),
        ("rows", "right"),
        ("tables", "left"),
        ("duration", "right"),
        ("attempts", "right"),
        ("error", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for result in results:
        error = result.error
        table.add_row(
            result.pipeline or "?",
            result.plugin or "?",
            "[green]ok[/green]" if result.success else "[red]failed[/red]",
            str(result.rows_loaded),
            ", ".join(t.identifier for t in result.tables) or "-",
            f"{result.duration_seconds:.2f} s",
            str(result.attempts),
            f"{error.category.value}/{error.code.value}" if error else "",
        )
    return table


def _exception_text(exc: BaseException) -> str:
    if isinstance(exc, _InternalError):
        return f"floe failed unexpectedly: {exc}"
    return str(exc)


def _hint(exc: BaseException) -> str | None:
    if isinstance(exc, _InternalError):
        return "This is a bug in floe or a plugin: rerun with --debug and report the traceback."
    if isinstance(exc, ProjectError):
        return "Nothing was run. Fix the above, then check with `floe validate`."
    return None


def _error_document(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, IngestionException):
        document: dict[str, Any] = {"error": exc.error.to_dict()}
        if isinstance(exc, ProjectError):
            document["problems"] = [problem.to_dict() for problem in exc.problems]
        return document
    return {"error": {"category": "INTERNAL", "code": "INTERNAL", "message": str(exc)}}


app = create_app()
"""The ``floe`` application over the installed plugins."""


def main() -> NoReturn:
    """Console-script entry point (``floe = "floe_core.cli:main"``)."""
    app(prog_name="floe")
    sys.exit(EXIT_OK)  # pragma: no cover - typer exits itself
