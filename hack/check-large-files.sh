#!/usr/bin/env bash
# Fails when Git tracks a file over 1 MiB that is not a listed fixture: a
# build output committed by mistake makes every clone download it forever.
# Usage: hack/check-large-files.sh
set -euo pipefail
cd "$(dirname "$0")/.."

limit=$((1024 * 1024))
# Fixtures that must be large, one path a line.
allowed=()

bad=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue
	size=$(stat -c %s "$f")
	[ "$size" -le "$limit" ] && continue
	for a in "${allowed[@]}"; do [ "$f" = "$a" ] && continue 2; done
	echo "tracked file over 1 MiB: $f ($size bytes); keep build outputs under the ignored bin/ or .cache/" >&2
	bad=1
done < <(git ls-files -z)
exit "$bad"
