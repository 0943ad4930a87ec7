import subprocess
import sys


def test_core_never_imports_textual() -> None:
    code = (
        "import sys, casparian_core, casparian_core.service, casparian_cli;"
        "import casparian_cli.tui;"
        "print('textual' in sys.modules, 'casparian_tui' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
