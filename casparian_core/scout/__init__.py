"""Scout: sources, scanning, hashing, content sniffing, tagging rules and watching.

Everything outside this package goes through `Scout` (in `facade.py`), reached as
`CoreService.scout`.
"""
