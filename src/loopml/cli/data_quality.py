"""``loopml data schema infer | validate | drift | profile``: data quality from the terminal.

These commands join the ``loopml data`` group (:mod:`loopml.cli.data` imports this module).
A data argument is a file or folder, a ``data:/name/version`` URI, or ``NAME@VERSION``.
``validate`` exits 1 when the data has errors, so a shell pipeline stops on bad data; ``drift``
does too with ``--fail-on-drift``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, use_project
from loopml.cli._output import console, esc, new_table, print_json, print_note, status
from loopml.cli.data import app
from loopml.errors import InvalidParameterError

__all__ = ["drift_command", "infer_command", "profile_command", "schema_app", "validate_command"]

_VERSION_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*@[A-Za-z0-9]+$")

DataArg = Annotated[
    str,
    typer.Argument(
        help="A Parquet/CSV file or folder, data:/NAME/VERSION, or NAME@VERSION.",
        show_default=False,
    ),
]

schema_app = typer.Typer(help="Infer a data schema to edit and validate against.")


def data_source(text: str) -> Any:
    """A path, a ``data:/`` URI, or a dataset version named ``NAME@VERSION``."""
    if text.startswith("data:/") or Path(text).exists() or not _VERSION_REF.match(text):
        return text
    from loopml.data.versions import resolve

    return resolve(text)


@schema_app.command("infer")
def infer_command(
    source: DataArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the YAML here (default: print it)."),
    ] = None,
    project: ProjectOpt = None,
) -> None:
    """Infer types, nullability, ranges, categories and uniqueness; edit the YAML by hand."""
    use_project(project)
    from loopml.data.schema import infer_schema

    with status("profiling"):
        schema = infer_schema(data_source(source))
    text = schema.to_yaml(output)
    if output is None:
        typer.echo(text, nl=False)
    else:
        console().print(f"Wrote schema of {len(schema.columns)} columns to {esc(output)}")


@app.command("validate")
def validate_command(
    source: DataArg,
    schema: Annotated[
        Path, typer.Option("--schema", "-s", help="The schema YAML.", show_default=False)
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write an HTML report here.")
    ] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Check data against a schema; exit code 1 when there are errors."""
    use_project(project)
    from loopml.data.validation import show_value, validate

    with status("validating"):
        report = validate(data_source(source), schema)
    if output is not None:
        report.to_html(output)
    if json:
        print_json(report.to_dict())
    else:
        out = console()
        if report.anomalies:
            table = new_table("column", "anomaly", "severity", "message", "observed", "expected")
            for a in report.anomalies:
                style = "red" if a.severity == "error" else "yellow"
                table.add_row(
                    esc(a.column or "(table)"),
                    a.kind,
                    f"[{style}]{a.severity}[/{style}]",
                    esc(a.message),
                    esc(show_value(a.observed)),
                    esc(show_value(a.expected)),
                )
            out.print(table)
        style = "green" if report.ok else "red"
        out.print(f"[{style}]{esc(report.summary())}[/{style}]")
    if not report.ok:
        raise typer.Exit(1)


def _parse_tests(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        column, sep, test = item.partition("=")
        if not sep or not column or not test:
            raise InvalidParameterError(f"--test {item!r}: use COLUMN=TEST, e.g. age=psi")
        out[column] = test
    return out


def _side(text: str, profiles: bool) -> Any:
    """A drift argument: the data, or with ``--profiles`` a version's stored profile."""
    source = data_source(text)
    if not profiles or (isinstance(source, str) and not source.startswith("data:/")):
        return source
    from loopml.data.versions import resolve

    version = resolve(source)
    if not version.profile:
        raise InvalidParameterError(
            f"{version.uri} has no stored profile; store one with "
            f"`loopml data profile {version.name}@{version.version} --save`"
        )
    return version.profile


@app.command("drift")
def drift_command(
    reference: DataArg,
    current: DataArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the HTML report (histograms) here."),
    ] = None,
    columns: Annotated[
        str | None, typer.Option("--columns", "-c", help="Comma-separated columns to test.")
    ] = None,
    test: Annotated[
        list[str] | None,
        typer.Option(
            "--test", "-t", help="COLUMN=TEST (ks, chi2, wasserstein, jensenshannon, psi)."
        ),
    ] = None,
    share: Annotated[
        float, typer.Option("--share", help="Dataset drift when this share of columns drifts.")
    ] = 0.5,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit with code 1 on dataset drift.")
    ] = False,
    profiles: Annotated[
        bool,
        typer.Option(
            "--profiles",
            help="Use the profiles stored with dataset versions (`data profile --save`) "
            "instead of reading them (approximate).",
        ),
    ] = False,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Test every column of CURRENT for drift from REFERENCE."""
    use_project(project)
    from loopml.data._drift.core import drift

    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    with status("testing drift"):
        report = drift(
            _side(reference, profiles),
            _side(current, profiles),
            columns=wanted,
            tests=_parse_tests(test or []),
            share=share,
        )
    if output is not None:
        report.to_html(output)
    if json:
        print_json(report.to_dict())
    else:
        out = console()
        table = new_table("column", "type", "test", "statistic", "p-value", "rule", "drift")
        for col in report.columns.values():
            mark = "[red]drift[/red]" if col.drifted else "[green]ok[/green]"
            table.add_row(
                esc(col.column),
                col.kind,
                col.test,
                f"{col.statistic:.4g}",
                "-" if col.p_value is None else f"{col.p_value:.3g}",
                col.rule,
                mark,
            )
        out.print(table)
        for name, why in report.skipped.items():
            print_note(f"not tested: {name}: {why}")
        style = "red" if report.dataset_drift else "green"
        out.print(f"[{style}]{esc(report.summary())}[/{style}]")
        if output is not None:
            out.print(f"Report: {esc(output)}")
    if fail_on_drift and report.dataset_drift:
        raise typer.Exit(1)


@app.command("profile")
def profile_command(
    source: DataArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write an HTML page (a histogram per column)."),
    ] = None,
    save: Annotated[
        bool,
        typer.Option("--save", help="Store the profile with the dataset version (for drift)."),
    ] = False,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Per-column statistics: missing, distinct, min/max/mean/std, quantiles, top values."""
    use_project(project)
    from loopml.data.profiling import profile

    target = data_source(source)
    if save and isinstance(target, str) and not target.startswith("data:/"):
        raise InvalidParameterError("--save needs a dataset version (NAME@VERSION or data:/...)")
    with status("profiling"):
        prof = profile(target)
    if save:
        from loopml.data.versions import set_profile

        set_profile(target, prof.to_dict())
    if output is not None:
        prof.to_html(output)
    if json:
        print_json(prof.to_dict())
        return
    table = new_table(
        "column",
        "type",
        "missing",
        "distinct",
        "min",
        "median",
        "max",
        "mean",
        "std",
        "top",
        title=f"{esc(prof.source)}: {prof.rows:,} rows",
    )
    for col in prof.columns.values():
        top = ", ".join(f"{v} ({n:,})" for v, n in col.top[:3]) if col.kind != "numeric" else ""
        table.add_row(
            esc(col.name),
            esc(col.dtype),
            f"{col.missing:,} ({col.missing_rate:.1%})",
            ("~" if col.distinct_approx else "")
            + ("-" if col.distinct is None else f"{col.distinct:,}"),
            _num(col.min),
            _num(col.quantiles.get("0.5")),
            _num(col.max),
            _num(col.mean),
            _num(col.std),
            esc(top),
        )
    console().print(table)
    if output is not None:
        console().print(f"Report: {esc(output)}")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


app.add_typer(schema_app, name="schema")
