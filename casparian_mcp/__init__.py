"""The MCP face: `casparian mcp` serves the assistant's shared tools to MCP clients."""
