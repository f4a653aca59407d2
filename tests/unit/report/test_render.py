"""Renderers: every format escapes untrusted text, HTML is self-contained, Markdown has its PNGs beside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from promv5_lab.errors import ConfigError, InputError
from promv5_lab.report.render import export, md_escape, render_html, render_markdown, write_markdown


def test_html_escapes_hostile_text_and_loads_nothing(postmortem):
    html = render_html(postmortem)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{7*7}}" in html and ">49<" not in html  # data is never evaluated as a template
    # our own scripts carry the page's nonce; the CSP lets only them run and loads nothing from anywhere
    nonce = re.search(r"script-src 'nonce-([^']+)'", html).group(1)
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all(f'nonce="{nonce}"' in s or 'type="application/json"' in s for s in scripts)
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    # chart data travels as JSON with <, > and & escaped, so it cannot close its script element
    blob = re.search(r'<script type="application/json" id="data-overview-errors">(.*?)</script>', html, re.DOTALL).group(1)
    assert "<" not in blob and "\\u003cscript\\u003e" in blob


def test_static_html_embeds_png_charts(postmortem):
    html = render_html(postmortem, static=True)
    imgs = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(imgs) == len(postmortem.charts)
    assert "charts.js" not in html and "<script nonce" not in html


def test_markdown_escapes_and_keeps_code_literal(postmortem):
    import markdown

    md = render_markdown(postmortem, image_dir="pm_files")
    assert "```yaml" in md and "- expr: '<script>alert(1)</script>" in md  # the rule is verbatim in its fence
    prose = re.sub(r"(`{3,})[^\n]*\n.*?\n *\1", "", md, flags=re.DOTALL)  # drop fenced blocks
    prose = re.sub(r"(`+)(?!`).+?(?<!`)\1(?!`)", "", prose)  # and code spans
    assert "<script>" not in prose and "&lt;script&gt;" in prose
    assert "{{7*7}}" not in prose and "\\{\\{7\\*7\\}\\}" in prose
    # rendered by a Markdown engine: no live script, no javascript: link, no extra table cells
    html = markdown.markdown(md, extensions=["tables", "fenced_code"])
    assert "<script>" not in html and 'href="javascript:' not in html
    tables = re.findall(r"<table>.*?</table>", html, re.DOTALL)
    assert tables
    for t in tables:
        header = len(re.findall(r"<th[ >]", t.split("</tr>")[0]))
        for row in re.findall(r"<tr>(.*?)</tr>", t, re.DOTALL)[1:]:
            assert len(re.findall(r"<td", row)) == header


def test_a_fence_inside_code_does_not_close_the_block(postmortem):
    from dataclasses import replace

    from promv5_lab.report.models import FollowUp

    pm = replace(postmortem, follow_ups=(FollowUp("alert_rule", "t", "d", "a\n```\n<script>x</script>\n```"),))
    md = render_markdown(pm)
    block = re.search(r"(`{4,})yaml\n(.*?)\n *\1", md, re.DOTALL)
    assert block and "<script>x</script>" in block.group(2)


@pytest.mark.parametrize("raw, want", [
    ("plain text", "plain text"),
    ("a_b*c", "a\\_b\\*c"),
    ("<b>", "&lt;b&gt;"),
    ("[x](y)", "\\[x\\](y)"),
    ("{{7*7}}", "\\{\\{7\\*7\\}\\}"),
    ("a|b", "a\\|b"),
    ("line\nbreak", "line break"),
    ("`code`", "\\`code\\`"),
    (None, ""),
])
def test_md_escape(raw, want):
    assert md_escape(raw) == want


def test_markdown_writes_pngs_beside_it(postmortem, tmp_path):
    import markdown
    from PIL import Image

    out = write_markdown(postmortem, tmp_path / "pm.md")
    html = markdown.markdown(out.read_text(), extensions=["tables", "fenced_code"])
    links = re.findall(r'<img alt="[^"]*" src="([^"]+)"', html)
    assert len(links) == len(postmortem.charts)
    for link in links:
        png = tmp_path / link
        assert png.parent == tmp_path / "pm_files"
        img = Image.open(png).convert("RGB")
        colours = img.getcolors(maxcolors=1 << 20)
        assert len(colours) > 20  # lines, shading, text: not a blank image


def test_user_template_folder_overrides_one_template(postmortem, tmp_path):
    (tmp_path / "postmortem.md.j2").write_text("# Ours: {{ r.title }}\n{{ r.summary }}\n")
    md = render_markdown(postmortem, templates_dir=tmp_path)
    assert md.startswith("# Ours: Postmortem &lt;script&gt;")
    html = render_html(postmortem, templates_dir=tmp_path)  # the other format still uses the built-in one
    assert "<h2 id=\"impact\">" in html


def test_template_errors_are_config_errors(postmortem, tmp_path):
    (tmp_path / "postmortem.html.j2").write_text("{% if %}")
    with pytest.raises(ConfigError, match="line 1"):
        render_html(postmortem, templates_dir=tmp_path)
    (tmp_path / "postmortem.html.j2").write_text("{{ r.no_such_field }}")
    with pytest.raises(ConfigError, match="no_such_field"):
        render_html(postmortem, templates_dir=tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        render_html(postmortem, templates_dir=tmp_path / "missing")


def test_export_picks_the_format_from_the_suffix(postmortem, tmp_path):
    assert export(postmortem, tmp_path / "a.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(InputError, match="Unknown report format"):
        export(postmortem, tmp_path / "a.docx")
    with pytest.raises(InputError, match="is a folder"):
        export(postmortem, tmp_path, "html")
    assert not list(Path(tmp_path).glob(".*.tmp"))
