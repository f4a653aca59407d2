"""``%load_ext promv5_lab`` registers every surface's magics in a fresh shell (and import stays light)."""

from __future__ import annotations


def test_load_ext_registers_all_magics():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell()
    shell.extension_manager.load_extension("promv5_lab")
    magics = shell.magics_manager.magics
    assert {"ask", "promv5", "report", "voice", "screenshot"} <= set(magics["line"])
    assert "ask" in magics["cell"]
