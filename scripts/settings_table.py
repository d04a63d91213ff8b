"""Print the README's settings table from the one settings object, so the two cannot drift.

python scripts/settings_table.py
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from assistant.settings import Settings


def rows() -> list[str]:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for group, field in Settings.model_fields.items():
        model = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        assert isinstance(model, BaseModel)
        for name, sub in type(model).model_fields.items():
            default = _shown(getattr(model, name))
            lines.append(
                f"| `ASSISTANT_{group.upper()}__{name.upper()}` | `{default}` | {sub.description} |"
            )
    return lines


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(unset)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


if __name__ == "__main__":
    print("\n".join(rows()))
