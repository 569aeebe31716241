#!/bin/sh
# Print the first interpreter on PATH that is Python >= 3.12 (pyenv shims included).
for c in python3 python3.14 python3.13 python3.12 python; do
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
        command -v "$c"
        exit 0
    fi
done
echo "b12sim needs Python >= 3.12 on PATH (found none)" >&2
exit 1
