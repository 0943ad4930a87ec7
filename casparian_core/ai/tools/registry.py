"""The set of tools the assistant offers, by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from casparian_core.ai.tools.base import Tool, ToolEnv, ToolInputError, ToolOutput


class Toolbox:
    def __init__(self, tools: Sequence[Tool[Any]]) -> None:
        self._tools = {tool.name: tool for tool in tools}
        if len(self._tools) < len(tools):  # a second tool of a name would hide the first
            names = [tool.name for tool in tools]
            twice = sorted({name for name in names if names.count(name) > 1})
            raise ValueError(f"Two tools are named {', '.join(twice)}: one name, one tool.")

    def names(self) -> list[str]:
        return list(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        return [tool.definition() for tool in self._tools.values()]

    async def call(self, env: ToolEnv, name: str, arguments: dict[str, Any]) -> ToolOutput:
        tool = self._tools.get(name)
        if tool is None:
            raise ToolInputError(f"There is no tool {name!r}; the tools are {self.names()}.")
        return await tool.call(env, arguments)
