"""The AI assistant: one tool layer over CoreService, a streaming session with the Anthropic
Messages API, pending actions a human decides, and the record of every request (docs/assistant.md).
"""
