#!/usr/bin/env bash
# https for kormo synth run's teachers and kormo eval --endpoint: a ca_file / --ca-file, the
# system store, and certificates refused with their reason (tests/python/test_https_clients.py,
# which needs only the binary, the openssl CLI and ../shared/data).
set -uo pipefail
: "${KORMO:?}" "${SRC:?}"
cd "$SRC/tests/python" && KORMO_FROM_CTEST=1 KORMO_BIN="$KORMO" python3 -m pytest -q -p no:cacheprovider \
  test_https_clients.py || exit 1
echo "https_clients_test: ok"
