"""`flask kb index` and `flask kb check`."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from support.kb import index


def test_kb_index_rebuilds_and_reports_counts_and_seconds(own_index_app: Flask) -> None:
    result = own_index_app.test_cli_runner().invoke(args=["kb", "index"])
    assert result.exit_code == 0, result.output
    assert "Indexed 52 articles in " in result.output and " s." in result.output
    assert index.search("refund").hits


def test_kb_check_passes_on_the_real_articles(own_index_app: Flask) -> None:
    result = own_index_app.test_cli_runner().invoke(args=["kb", "check"])
    assert result.exit_code == 0, result.output
    assert "52 articles in 9 categories, 0 problem(s), 0 warning(s)." in result.output


def test_kb_check_warns_about_missing_recommended_front_matter(
    own_index_app: Flask, articles_copy: Path
) -> None:
    (articles_copy / "bare.md").write_text(
        "---\ntitle: Bare\ncategory: payments\n---\nText.\n", "utf-8"
    )
    result = own_index_app.test_cli_runner().invoke(args=["kb", "check"])
    assert result.exit_code == 0, result.output  # published all the same
    assert "bare.md: warning: no tags, summary, updated" in result.output
    assert "53 articles in 9 categories, 0 problem(s), 1 warning(s)." in result.output


def test_kb_check_lists_problems_by_file_and_fails(
    own_index_app: Flask, articles_copy: Path
) -> None:
    (articles_copy / "broken.md").write_text("---\ncategory: payments\n---\nText.\n", "utf-8")
    (articles_copy / "elsewhere.md").write_text(
        "---\ntitle: Elsewhere\ncategory: nowhere\n---\nText.\n", "utf-8"
    )
    result = own_index_app.test_cli_runner().invoke(args=["kb", "check"])
    assert result.exit_code == 1
    assert "broken.md: 'title' is missing or empty" in result.output
    assert "elsewhere.md: unknown category 'nowhere'" in result.output
    assert "2 problem(s)" in result.output


def test_kb_index_mentions_problems(own_index_app: Flask, articles_copy: Path) -> None:
    (articles_copy / "broken.md").write_text("no front matter\n", "utf-8")
    result = own_index_app.test_cli_runner().invoke(args=["kb", "index"])
    assert result.exit_code == 0
    assert "Indexed 52 articles" in result.output
    assert "1 problem(s) in the article files: see `flask kb check`." in result.output
