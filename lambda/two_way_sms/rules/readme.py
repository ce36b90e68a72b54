"""The README's table of the rules in force: ``python -m two_way_sms.rules.readme`` prints it.

The README holds it between ``<!-- rules-table:start -->`` and ``<!-- rules-table:end -->``
(indented like the start marker); ``python -m two_way_sms.rules.readme README.md``
rewrites that block. A unit test fails when the README's table is not the generated one,
so a change to the rules table comes with its README table.
"""

from __future__ import annotations

import sys
from pathlib import Path

from two_way_sms.rules.in_force import RuleInForce, rules_in_force
from two_way_sms.rules.table import RulesTable, load_rules

START_MARKER = "<!-- rules-table:start -->"
END_MARKER = "<!-- rules-table:end -->"
_HEADER = (
    "| Jurisdiction | Windows (recipient's local time) | Sundays and holidays | Cap | Source | Reviewed |",
    "|---|---|---|---|---|---|",
)


def markdown_table(table: RulesTable | None = None) -> str:
    """Every jurisdiction of the table, one row each, as a Markdown table (ending in a newline)."""
    table = table or load_rules()
    rules = rules_in_force(table.countries(), table).jurisdictions
    return "\n".join([*_HEADER, *(_row(rule) for rule in rules)]) + "\n"


def _row(rule: RuleInForce) -> str:
    sources = "; ".join(f"[{_cell(source.citation)}]({source.url})" for source in rule.sources)
    cells = (
        f"{rule.code} {_cell(rule.name)}",
        rule.windows_text(),
        rule.closed_text(),
        rule.cap_text(),
        sources,
        rule.reviewed.isoformat(),
    )
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def readme_block(readme: str) -> str:
    """The table between the markers of ``readme``, without its indentation (ValueError without markers)."""
    start, end = _marker_lines(readme)
    lines = readme.splitlines()[start + 1 : end]
    indent = _indent(readme.splitlines()[start])
    return "".join(line.removeprefix(indent) + "\n" for line in lines)


def with_table(readme: str, table: RulesTable | None = None) -> str:
    """``readme`` with the generated table between its markers, indented like the start marker."""
    start, end = _marker_lines(readme)
    lines = readme.splitlines(keepends=True)
    indent = _indent(lines[start])
    block = [f"{indent}{line}\n" for line in markdown_table(table).splitlines()]
    return "".join(lines[: start + 1] + block + lines[end:])


def _marker_lines(readme: str) -> tuple[int, int]:
    stripped = [line.strip() for line in readme.splitlines()]
    if START_MARKER not in stripped or END_MARKER not in stripped:
        raise ValueError(f"the README has no {START_MARKER} ... {END_MARKER} block")
    return stripped.index(START_MARKER), stripped.index(END_MARKER)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def main(argv: list[str] | None = None) -> None:
    """Prints the table; with a README's path, rewrites the table between its markers."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(markdown_table(), end="")
        return
    path = Path(args[0])
    path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
