"""`flask kb ...`: build the knowledge-base index and check the article files."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from support.kb import articles, index, settings

kb_cli = AppGroup("kb", help="Knowledge base: search index and article checks.")


def build_index(app: Flask) -> index.BuildReport:
    """Rebuild the index and say what went in (the CLI and `devserver` call this)."""
    report = index.rebuild(app)
    click.echo(f"Indexed {report.articles} articles in {report.seconds:.2f} s.")
    if report.problems:
        click.echo(f"{len(report.problems)} problem(s) in the article files: see `flask kb check`.")
    return report


@kb_cli.command("index")
def index_command() -> None:
    """Rebuild the search index from the article files."""
    build_index(current_app._get_current_object())


@kb_cli.command("check")
def check_command() -> None:
    """List problems in the article files; exits with status 1 when there are any.

    Missing recommended front matter (tags, summary, updated) is a warning: the
    article is still published. Malformed front matter (a `problems` that is not a
    list of short phrases, say) is a problem: the file is skipped.
    """
    library = articles.load(settings.articles_dir(current_app))
    for problem in library.problems:
        click.echo(f"{problem.file}: {problem.message}", err=True)
    warnings = [a for a in library.articles.values() if a.missing]
    for article in sorted(warnings, key=lambda a: a.file):
        click.echo(f"{article.file}: warning: no {', '.join(article.missing)}", err=True)
    click.echo(
        f"{len(library.articles)} articles in {len(library.categories)} categories, "
        f"{len(library.problems)} problem(s), {len(warnings)} warning(s)."
    )
    if library.problems:
        raise SystemExit(1)
