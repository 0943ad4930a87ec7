"""The assistant's tools: each a typed parameter model, a description, and a function over
CoreService's facades that returns a bounded result (docs/assistant.md lists them)."""
