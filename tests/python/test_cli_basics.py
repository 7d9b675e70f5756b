from conftest import run_kormo


def test_help_lists_usage_and_version(kormo_bin):
    out = run_kormo(kormo_bin, "--help").stdout
    assert "Usage: kormo" in out
    ver = run_kormo(kormo_bin, "--version").stdout
    assert ver.startswith("kormo ")


def test_missing_verb_is_a_usage_error(kormo_bin):
    proc = run_kormo(kormo_bin, check=False)
    assert proc.returncode == 2


def test_error_kinds_map_to_exit_codes(kormo_bin, tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"id": "1", "text": "hello"}\n')
    # A bad option value found by the verb itself is a usage error: exit 2.
    proc = run_kormo(kormo_bin, "data", "filter", docs, "-o", tmp_path / "out.jsonl", "--skip", "nonsense",
                     check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("kormo: usage error: --skip: unknown rule group"), proc.stderr
    # An output that cannot be created (its directory is a file) is an I/O error: exit 1.
    proc = run_kormo(kormo_bin, "data", "normalize", docs, "-o", docs / "out.jsonl", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "kormo: I/O error: " in proc.stderr, proc.stderr
    # Malformed input is an ordinary error: exit 1.
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipeline\n")
    proc = run_kormo(kormo_bin, "data", "pipeline", bad, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("kormo: error: "), proc.stderr
