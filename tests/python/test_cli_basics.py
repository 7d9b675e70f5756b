from conftest import run_kormo


def test_help_lists_usage_and_version(kormo_bin):
    out = run_kormo(kormo_bin, "--help").stdout
    assert "Usage: kormo" in out
    ver = run_kormo(kormo_bin, "--version").stdout
    assert ver.startswith("kormo ")


def test_missing_verb_is_a_usage_error(kormo_bin):
    proc = run_kormo(kormo_bin, check=False)
    assert proc.returncode == 2
